// Authentication comes before the body: a request without a valid key is answered 401/403 without
// its body being read or parsed, whatever the body is.
import { describe, expect, it } from "vitest";
import { json, RecordingQueue, request, requestWithStreamedBody, sampleEmail } from "../helpers/worker";
import { createWorkspace, insertKey } from "../helpers/workspace";

const BODY_ROUTES = ["/v1/emails", "/v1/emails/batch", "/v1/api-keys", "/v1/domains", "/v1/workspace"];

const fetchWithStream = (path: string, total: number, headers: Record<string, string>) =>
	requestWithStreamedBody(path, total, headers, path === "/v1/workspace" ? "PATCH" : "POST");

describe("authentication before the body", () => {
	for (const path of BODY_ROUTES) {
		const method = path === "/v1/workspace" ? "PATCH" : "POST";
		it(`${method} ${path}: invalid JSON without a key is 401, not 400`, async () => {
			const res = await request(path, {
				method,
				rawBody: '{"from": ',
				headers: { "content-type": "application/json" },
			});
			expect(res.status).toBe(401);
			expect((await json<{ error: { code: string } }>(res)).error.code).toBe("unauthorized");
		});

		it(`${method} ${path}: a body above the limit without a key is 401 and is never read`, async () => {
			const { res, stats } = await fetchWithStream(path, 20 * 1024 * 1024, {});
			expect(res.status).toBe(401);
			expect(stats.pulls).toBe(0);
		});
	}

	it("reads the body of an authenticated request (the stream check above can fail)", async () => {
		const ws = await createWorkspace();
		const { res, stats } = await fetchWithStream("/v1/emails", 1024, { authorization: `Bearer ${ws.key}` });
		expect(res.status).toBe(400);
		expect(stats.pulls).toBeGreaterThan(0);
	});

	it("answers a key without the scope 403 before parsing its bad JSON", async () => {
		const ws = await createWorkspace();
		const { key } = await insertKey(ws.id, { scopes: ["email:read"] });
		const res = await request("/v1/emails", {
			key,
			rawBody: "not json",
			headers: { "content-type": "application/json" },
		});
		expect(res.status).toBe(403);
	});

	it("still answers 413 and 400 to an authenticated caller", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const big = await fetchWithStream("/v1/emails", 20 * 1024 * 1024, { authorization: `Bearer ${ws.key}` });
		expect(big.res.status).toBe(413);
		// The declared length alone decides: the body is refused before it is read.
		expect(big.stats.pulls).toBe(0);
		const bad = await request("/v1/emails", {
			key: ws.key,
			rawBody: '{"from": ',
			headers: { "content-type": "application/json" },
			env: { SEND_QUEUE: queue },
		});
		expect(bad.status).toBe(400);
		const ok = await request("/v1/emails", { key: ws.key, body: sampleEmail(ws.domain), env: { SEND_QUEUE: queue } });
		expect(ok.status).toBe(202);
	});
});
