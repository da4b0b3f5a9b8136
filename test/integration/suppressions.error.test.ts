// /v1/suppressions refusals: invalid addresses, reasons and expiries, too large a bulk list, an
// unknown address; each answered with the one error envelope and nothing written.
import { describe, expect, it } from "vitest";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type ErrorBody = { error: { code: string; message: string; request_id: string } };

describe("suppression list errors", () => {
	it("refuses an invalid address, reason or past expiry with 422 and adds nothing", async () => {
		const ws = await createWorkspace();
		for (const body of [
			{ email: "not-an-address" },
			{ email: "a@x.test", reason: "soft" },
			{ email: "a@x.test", expires_at: new Date(Date.now() - 1000).toISOString() },
			{ email: "a@x.test", extra: true },
			{ suppressions: [] },
		]) {
			const res = await request("/v1/suppressions", { key: ws.key, body });
			expect(res.status, JSON.stringify(body)).toBe(422);
			expect((await json<ErrorBody>(res)).error).toMatchObject({
				code: "validation_error",
				request_id: expect.any(String),
			});
		}
		// The same call with a valid body does add.
		expect((await request("/v1/suppressions", { key: ws.key, body: { email: "a@x.test" } })).status).toBe(201);
		const page = await json<{ data: unknown[] }>(await request("/v1/suppressions", { key: ws.key }));
		expect(page.data).toHaveLength(1);
	});

	it("refuses more than 1000 entries in one call", async () => {
		const ws = await createWorkspace();
		const suppressions = Array.from({ length: 1001 }, (_, i) => ({ email: `u${i}@x.test` }));
		const res = await request("/v1/suppressions", { key: ws.key, body: { suppressions } });
		expect(res.status).toBe(422);
		const ok = await request("/v1/suppressions", { key: ws.key, body: { suppressions: suppressions.slice(0, 1000) } });
		expect(ok.status).toBe(201);
		expect((await json<{ data: unknown[] }>(ok)).data).toHaveLength(1000);
	});

	it("answers 404 for an address not on the list and 422 for a path that is not an address", async () => {
		const ws = await createWorkspace();
		const get = await request("/v1/suppressions/nobody@x.test", { key: ws.key });
		expect(get.status).toBe(404);
		expect((await json<ErrorBody>(get)).error.code).toBe("not_found");
		expect((await request("/v1/suppressions/nobody@x.test", { key: ws.key, method: "DELETE" })).status).toBe(404);
		expect((await request("/v1/suppressions/nobody", { key: ws.key })).status).toBe(422);
		expect((await request("/v1/suppressions?reason=soft", { key: ws.key })).status).toBe(422);
	});
});
