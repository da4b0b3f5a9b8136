// POST /v1/inbound/classify is for keys with `email:read`: no key or a bad key 401, a key without
// the scope 403, both answered before a byte of the body is read.
import { describe, expect, it } from "vitest";
import dsn from "../fixtures/bounces/rfc3464-01.eml?raw";
import { json, request, requestWithStreamedBody } from "../helpers/worker";
import { createWorkspace, insertKey } from "../helpers/workspace";

const PATH = "/v1/inbound/classify";
const headers = { "content-type": "message/rfc822" };

async function code(res: Response) {
	return { status: res.status, code: (await json<{ error: { code: string } }>(res)).error.code };
}

describe("POST /v1/inbound/classify security", () => {
	it("refuses a missing, malformed or unknown key with 401", async () => {
		for (const authorization of [undefined, "Basic abc", "Bearer mq_live_unknownunknownunknown00"]) {
			const res = await request(PATH, {
				rawBody: dsn,
				headers: authorization ? { ...headers, authorization } : headers,
			});
			expect(await code(res)).toEqual({ status: 401, code: "unauthorized" });
		}
	});

	it("refuses a key without email:read with 403, and answers a key with it", async () => {
		const ws = await createWorkspace();
		const sender = await insertKey(ws.id, { scopes: ["email:send"] });
		expect(await code(await request(PATH, { key: sender.key, rawBody: dsn, headers }))).toEqual({
			status: 403,
			code: "forbidden",
		});
		const reader = await insertKey(ws.id, { scopes: ["email:read"] });
		expect((await request(PATH, { key: reader.key, rawBody: dsn, headers })).status).toBe(200);
	});

	it("answers 401 without reading a body above the limit", async () => {
		const { res, stats } = await requestWithStreamedBody(PATH, 20 * 1024 * 1024, headers);
		expect(res.status).toBe(401);
		expect(stats.pulls).toBe(0);
	});
});
