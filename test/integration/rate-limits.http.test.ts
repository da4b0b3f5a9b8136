// /v1/rate-limits and the HTTP path's limits: the one limiter call, X-RateLimit-* headers, 429 with
// Retry-After, hard send limits refused synchronously once counted.
import { describe, expect, it } from "vitest";
import { counters } from "../../src/lib/metrics";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace, insertKey } from "../helpers/workspace";

type Limits = { limits: Record<string, unknown>[] };
type ErrorBody = { error: { code: string; message: string; request_id: string } };

const put = (key: string, limits: unknown[]) => request("/v1/rate-limits", { key, method: "PUT", body: { limits } });

describe("PUT/GET /v1/rate-limits", () => {
	it("stores every level and returns it with usage and reset time", async () => {
		const ws = await createWorkspace();
		const limits = [
			{ scope: "workspace", window: "hour", limit: 1000, kind: "soft" },
			{ scope: "sender", window: "day", limit: 100, kind: "hard" },
			{ scope: "sender", key: "VIP@example.test", window: "day", limit: 10000, kind: "soft" },
			{ scope: "api_key", window: "second", limit: 50 },
		];
		const res = await put(ws.key, limits);
		expect(res.status).toBe(200);
		const got = await json<Limits>(await request("/v1/rate-limits", { key: ws.key }));
		expect(got.limits).toEqual([
			expect.objectContaining({
				scope: "workspace",
				window: "hour",
				limit: 1000,
				kind: "soft",
				used: 0,
				remaining: 1000,
			}),
			expect.objectContaining({ scope: "sender", window: "day", limit: 100, kind: "hard" }),
			expect.objectContaining({ scope: "sender", key: "vip@example.test", limit: 10000, kind: "soft" }),
			// Request limits are hard; this GET itself was counted against it.
			expect.objectContaining({ scope: "api_key", window: "second", limit: 50, kind: "hard", used: 1, remaining: 49 }),
		]);
		expect(typeof got.limits[0]?.reset_at).toBe("string");
	});

	it("refuses impossible limits and duplicates with 422, and needs the admin scope", async () => {
		const ws = await createWorkspace();
		for (const bad of [
			[{ scope: "workspace", window: "second", limit: 1 }],
			[{ scope: "api_key", window: "second", limit: 1, kind: "soft" }],
			[{ scope: "workspace", key: "x", window: "day", limit: 1 }],
			[
				{ scope: "sender", window: "day", limit: 1 },
				{ scope: "sender", window: "day", limit: 2 },
			],
		]) {
			const res = await put(ws.key, bad);
			expect(res.status).toBe(422);
			expect((await json<ErrorBody>(res)).error.code).toBe("validation_error");
		}
		const sender = await insertKey(ws.id, { scopes: ["email:send"] });
		expect((await put(sender.key, [])).status).toBe(403);
		expect((await request("/v1/rate-limits")).status).toBe(401);
	});
});

describe("request limits per API key", () => {
	it("answers 429 with Retry-After and the envelope past the limit, with X-RateLimit-* on every response", async () => {
		const ws = await createWorkspace();
		await put(ws.key, [{ scope: "api_key", window: "minute", limit: 3 }]);
		// The PUT's own request was not counted (the limit did not exist yet); three GETs are.
		const seen = [];
		for (let i = 0; i < 4; i++) seen.push(await request("/v1/workspace", { key: ws.key }));
		expect(seen.slice(0, 3).map((r) => r.status)).toEqual([200, 200, 200]);
		expect(seen.map((r) => r.headers.get("x-ratelimit-limit"))).toEqual(["3", "3", "3", "3"]);
		expect(seen.map((r) => r.headers.get("x-ratelimit-remaining"))).toEqual(["2", "1", "0", "0"]);
		const reset = Number(seen[0]?.headers.get("x-ratelimit-reset"));
		expect(reset).toBeGreaterThan(Date.now() / 1000 + 59);
		expect(reset).toBeLessThan(Date.now() / 1000 + 63);
		const refused = seen[3];
		expect(refused?.status).toBe(429);
		const retryAfter = Number(refused?.headers.get("retry-after"));
		expect(retryAfter).toBeGreaterThanOrEqual(59);
		expect(retryAfter).toBeLessThanOrEqual(62);
		const body = await json<ErrorBody>(refused as Response);
		expect(body.error.code).toBe("rate_limited");
		expect(body.error.message).toContain("API key minute hard limit 3");
		expect(body.error.request_id).toBeTruthy();
		// Another key of the workspace has its own count.
		const other = await insertKey(ws.id);
		expect((await request("/v1/workspace", { key: other.key })).status).toBe(200);
	});

	it("makes one limiter call per request with a limit, and none without one", async () => {
		const limited = await createWorkspace();
		await put(limited.key, [{ scope: "api_key", window: "second", limit: 100 }]);
		const before = counters.limiter_calls_total;
		await request("/v1/workspace", { key: limited.key });
		expect(counters.limiter_calls_total - before).toBe(1);
		// A send with a request limit and no hard send limit: still exactly one call.
		const queue = new RecordingQueue();
		const sent = await request("/v1/emails", {
			key: limited.key,
			body: sampleEmail(limited.domain),
			env: { SEND_QUEUE: queue },
		});
		expect(sent.status).toBe(202);
		expect(sent.headers.get("x-ratelimit-limit")).toBe("100");
		expect(counters.limiter_calls_total - before).toBe(2);

		const free = await createWorkspace();
		const start = counters.limiter_calls_total;
		const res = await request("/v1/workspace", { key: free.key });
		const mail = await request("/v1/emails", {
			key: free.key,
			body: sampleEmail(free.domain),
			env: { SEND_QUEUE: queue },
		});
		expect([res.status, mail.status]).toEqual([200, 202]);
		expect(counters.limiter_calls_total - start).toBe(0);
		// Nothing could refuse these requests: the headers say so (rate-limits.headers.test.ts).
		expect(res.headers.get("x-ratelimit-limit")).toBe("unlimited");
	});
});

describe("hard send limits on the HTTP path", () => {
	it("refuses a message over a hard sender limit with 429 naming it, once the consumer has counted", async () => {
		const ws = await createWorkspace();
		await put(ws.key, [{ scope: "sender", window: "day", limit: 2, kind: "hard" }]);
		const queue = new RecordingQueue();
		const send = () => request("/v1/emails", { key: ws.key, body: sampleEmail(ws.domain), env: { SEND_QUEUE: queue } });
		expect((await send()).status).toBe(202);
		expect((await send()).status).toBe(202);
		await runQueue("mq-send", queue.sent, { SEND_QUEUE: new RecordingQueue() });
		const refused = await send();
		expect(refused.status).toBe(429);
		expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
		expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(86_000);
		const body = await json<ErrorBody>(refused);
		expect(body.error.code).toBe("rate_limited");
		expect(body.error.message).toContain("sender day hard limit 2");
		expect(queue.sent).toHaveLength(2);
		// Another sender of the workspace is under its own count.
		const other = await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail(ws.domain, { from: `other@${ws.domain}` }),
			env: { SEND_QUEUE: queue },
		});
		expect(other.status).toBe(202);
	});

	it("refuses, within one batch, the items past a hard workspace limit and accepts the rest", async () => {
		const ws = await createWorkspace();
		await put(ws.key, [{ scope: "workspace", window: "hour", limit: 3, kind: "hard" }]);
		const queue = new RecordingQueue();
		const items = Array.from({ length: 5 }, (_, i) => sampleEmail(ws.domain, { to: `r${i}@x.test` }));
		const res = await request("/v1/emails/batch", { key: ws.key, body: items, env: { SEND_QUEUE: queue } });
		expect(res.status).toBe(202);
		const body = await json<{ accepted: number; data: { error?: { code: string; message: string } }[] }>(res);
		expect(body.accepted).toBe(3);
		expect(body.data.slice(3).map((d) => d.error?.code)).toEqual(["rate_limited", "rate_limited"]);
		expect(body.data[3]?.error?.message).toContain("workspace hour hard limit 3");
		expect(queue.sent).toHaveLength(3);
		expect(res.headers.get("retry-after")).toBeNull();
	});
});
