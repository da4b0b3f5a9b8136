// Every malformed request answers the one error envelope and makes nothing durable: no queue message,
// no content in R2.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { json, RecordingQueue, request, sampleEmail } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Envelope = { error: { code: string; message: string; request_id: string } };

async function expectRefused(res: Response, status: number, code: string, message?: RegExp) {
	expect(res.status).toBe(status);
	expect(res.headers.get("content-type")).toContain("application/json");
	const body = await json<Envelope>(res);
	expect(Object.keys(body)).toEqual(["error"]);
	expect(body.error.code).toBe(code);
	expect(body.error.request_id).toMatch(/^req_/);
	expect(res.headers.get("x-request-id")).toBe(body.error.request_id);
	if (message) expect(body.error.message).toMatch(message);
	return body;
}

describe("malformed input to POST /v1/emails", () => {
	const cases: {
		name: string;
		status: number;
		code: string;
		message?: RegExp;
		init: (domain: string) => { rawBody?: string; body?: unknown; headers?: Record<string, string> };
	}[] = [
		{
			name: "malformed JSON",
			status: 400,
			code: "invalid_json",
			message: /not valid JSON/,
			init: () => ({ rawBody: '{"from": ', headers: { "content-type": "application/json" } }),
		},
		{
			name: "wrong content type",
			status: 415,
			code: "unsupported_media_type",
			init: (d) => ({ rawBody: JSON.stringify(sampleEmail(d)), headers: { "content-type": "text/plain" } }),
		},
		{
			name: "multipart form",
			status: 415,
			code: "unsupported_media_type",
			init: () => ({ rawBody: "--x\r\n\r\n", headers: { "content-type": "multipart/form-data; boundary=x" } }),
		},
		{
			name: "form-encoded non-JSON",
			status: 415,
			code: "unsupported_media_type",
			init: () => ({ rawBody: "from=a&to=b", headers: { "content-type": "application/x-www-form-urlencoded" } }),
		},
		{ name: "no body", status: 422, code: "validation_error", message: /^from/, init: () => ({}) },
		{
			name: "unknown field",
			status: 422,
			code: "validation_error",
			message: /unknown field\(s\): priority/,
			init: (d) => ({ body: sampleEmail(d, { priority: "high" }) }),
		},
		{
			name: "invalid recipient",
			status: 422,
			code: "validation_error",
			message: /^to/,
			init: (d) => ({ body: sampleEmail(d, { to: ["nobody"] }) }),
		},
		{
			name: "missing subject",
			status: 422,
			code: "validation_error",
			message: /subject/,
			init: (d) => ({ body: { ...sampleEmail(d), subject: undefined } }),
		},
		{
			name: "neither html nor text",
			status: 422,
			code: "validation_error",
			message: /html or text/,
			init: (d) => ({ body: { ...sampleEmail(d), html: undefined, text: undefined } }),
		},
		{
			name: "too many recipients",
			status: 422,
			code: "validation_error",
			message: /at most 50/,
			init: (d) => ({
				body: sampleEmail(d, {
					to: Array.from({ length: 30 }, (_, i) => `t${i}@x.test`),
					cc: Array.from({ length: 21 }, (_, i) => `c${i}@x.test`),
				}),
			}),
		},
		{
			name: "reserved header",
			status: 422,
			code: "header_not_allowed",
			message: /headers\.From/,
			init: (d) => ({ body: sampleEmail(d, { headers: { From: "evil@x.test" } }) }),
		},
		{
			name: "header injection",
			status: 422,
			code: "header_not_allowed",
			message: /headers\.X-Thing: .*CR, LF/,
			init: (d) => ({ body: sampleEmail(d, { headers: { "X-Thing": "a\r\nBcc: x@y.test" } }) }),
		},
		{
			name: "JSON that is not an object",
			status: 422,
			code: "validation_error",
			init: () => ({ body: ["not", "an", "object"] }),
		},
	];

	for (const c of cases) {
		it(`answers ${c.status} ${c.code} for ${c.name} and writes nothing`, async () => {
			const ws = await createWorkspace();
			const queue = new RecordingQueue();
			const res = await request("/v1/emails", {
				key: ws.key,
				method: "POST",
				...c.init(ws.domain),
				env: { SEND_QUEUE: queue },
			});
			await expectRefused(res, c.status, c.code, c.message);
			expect(queue.sent).toEqual([]);
			expect(queue.sendCalls + queue.batchCalls).toBe(0);
		});
	}

	it("accepts curl's default form content type when the body is JSON", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const res = await request("/v1/emails", {
			key: ws.key,
			rawBody: JSON.stringify(sampleEmail(ws.domain)),
			headers: { "content-type": "application/x-www-form-urlencoded" },
			env: { SEND_QUEUE: queue },
		});
		expect(res.status).toBe(202);
		expect(queue.sent).toHaveLength(1);
	});

	it("answers 413 above the configured body limit, and the default limit is 10 MB", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const small = await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail(ws.domain, { text: "x".repeat(2000) }),
			env: { SEND_QUEUE: queue, MAX_BODY_BYTES: "1024" as never },
		});
		await expectRefused(small, 413, "payload_too_large", /1024 bytes/);
		const huge = await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail(ws.domain, { text: "x".repeat(10 * 1024 * 1024 + 1) }),
			env: { SEND_QUEUE: queue },
		});
		await expectRefused(huge, 413, "payload_too_large", /10485760 bytes/);
		expect(queue.sent).toEqual([]);
	});

	it("refuses a sender whose domain is not verified with 422 and a clear message", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const res = await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail("elsewhere.test"),
			env: { SEND_QUEUE: queue },
		});
		await expectRefused(res, 422, "domain_not_verified", /"elsewhere\.test" is not a verified domain/);
		expect(queue.sent).toEqual([]);
	});

	it("refuses a large message before its content reaches R2", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const html = `<p>${"x".repeat(200 * 1024)}</p>`;
		const refused = [
			sampleEmail("elsewhere.test", { html }),
			sampleEmail(ws.domain, { html, headers: { Sender: "boss@x.test" } }),
			sampleEmail(ws.domain, { html, subject: "Hi\r\nBcc: all@x.test" }),
		];
		for (const body of refused) {
			const res = await request("/v1/emails", { key: ws.key, body, env: { SEND_QUEUE: queue } });
			expect(res.status).toBe(422);
		}
		// The same key with a different body is refused before anything is written, too.
		const headers = { "idempotency-key": "big-1" };
		expect(
			(await request("/v1/emails", { key: ws.key, body: sampleEmail(ws.domain), headers, env: { SEND_QUEUE: queue } }))
				.status,
		).toBe(202);
		const mismatch = await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail(ws.domain, { html }),
			headers,
			env: { SEND_QUEUE: queue },
		});
		expect(mismatch.status).toBe(422);
		expect(queue.sent).toHaveLength(1);
		const stored = await env.BODIES.list({ prefix: `content/${ws.id}/` });
		expect(stored.objects).toEqual([]);

		// The check above can fail: an accepted large message does put its content there.
		await request("/v1/emails", { key: ws.key, body: sampleEmail(ws.domain, { html }), env: { SEND_QUEUE: queue } });
		expect((await env.BODIES.list({ prefix: `content/${ws.id}/` })).objects).toHaveLength(1);
	});

	it("answers 503 when the send queue is down, saying the outcome is unknown without a key", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		queue.failure = new Error("queue unavailable");
		const res = await request("/v1/emails", { key: ws.key, body: sampleEmail(ws.domain), env: { SEND_QUEUE: queue } });
		await expectRefused(res, 503, "service_unavailable", /unknown.*Idempotency-Key to make retries safe/);
		const keyed = await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail(ws.domain),
			headers: { "idempotency-key": "down-1" },
			env: { SEND_QUEUE: queue },
		});
		await expectRefused(keyed, 503, "service_unavailable", /Retry with the same Idempotency-Key/);
		expect(queue.sent).toEqual([]);
	});

	it("answers unknown routes and bad list filters with the envelope", async () => {
		const ws = await createWorkspace();
		await expectRefused(await request("/v1/nope", { key: ws.key }), 404, "not_found", /GET \/v1\/nope/);
		await expectRefused(await request("/v1/emails?status=lost", { key: ws.key }), 422, "validation_error", /status/);
		await expectRefused(await request("/v1/emails?limit=1000", { key: ws.key }), 422, "validation_error", /limit/);
	});
});
