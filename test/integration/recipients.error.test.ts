// /v1/recipients refusals, each with the one error envelope and nothing written.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type ErrorBody = { error: { code: string; request_id: string } };

describe("recipients errors", () => {
	it("refuses an unknown status, unknown field, bad fields or a bad address with 422 and writes nothing", async () => {
		const ws = await createWorkspace();
		for (const body of [
			{ status: "GONE" },
			{ colour: "blue" },
			{ fields: { plan: 3 } },
			{ fields: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`f${i}`, "x"])) },
		]) {
			const res = await request("/v1/recipients/a@x.test", { key: ws.key, method: "PUT", body });
			expect(res.status, JSON.stringify(body)).toBe(422);
			expect((await json<ErrorBody>(res)).error).toMatchObject({
				code: "validation_error",
				request_id: expect.any(String),
			});
		}
		expect((await request("/v1/recipients/not-an-address", { key: ws.key, method: "PUT", body: {} })).status).toBe(422);
		const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM recipients WHERE workspace_id = ?")
			.bind(ws.id)
			.first<{ n: number }>();
		expect(rows?.n).toBe(0);
		// A valid body on the same path writes.
		expect(
			(await request("/v1/recipients/a@x.test", { key: ws.key, method: "PUT", body: { status: "INACTIVE" } })).status,
		).toBe(200);
		expect(
			(await request("/v1/recipients?status=INACTIVE", { key: ws.key }).then((r) => json<{ data: unknown[] }>(r))).data,
		).toHaveLength(1);
	});

	it("answers 404 for an address the workspace never sent to and 422 for a bad filter", async () => {
		const ws = await createWorkspace();
		const res = await request("/v1/recipients/nobody@x.test", { key: ws.key });
		expect(res.status).toBe(404);
		expect((await json<ErrorBody>(res)).error.code).toBe("not_found");
		expect((await request("/v1/recipients?status=active", { key: ws.key })).status).toBe(422);
		expect((await request("/v1/recipients?limit=1000", { key: ws.key })).status).toBe(422);
	});
});
