// X-RateLimit-* on every authenticated response (/v1, the provider-compatible surfaces and the seed
// alias /api/rate-limit), exact from the request's one limiter call when the key has a request limit,
// `unlimited` without a call otherwise; 429 with Retry-After and the envelope; and the limiter calls
// counted at the binding itself, so "none without a request limit" is measured, not inferred.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace, type TestWorkspace } from "../helpers/workspace";

type ErrorBody = { error: { code: string; message: string; request_id: string } };

/** The WORKSPACE_LIMITER binding, recording every RPC made on a stub it handed out. */
function countingLimiter(): { binding: Env["WORKSPACE_LIMITER"]; calls: string[] } {
	const real = env.WORKSPACE_LIMITER;
	const calls: string[] = [];
	const binding = new Proxy(real, {
		get(target, prop) {
			const value: unknown = Reflect.get(target, prop);
			if (prop !== "get" || typeof value !== "function") {
				return typeof value === "function" ? value.bind(target) : value;
			}
			return (id: DurableObjectId) => {
				const stub = target.get(id);
				return new Proxy(stub, {
					get(s, method) {
						const fn: unknown = Reflect.get(s, method);
						if (typeof method !== "string" || typeof fn !== "function") return fn;
						return (...args: unknown[]) => {
							calls.push(method);
							return Reflect.apply(fn, s, args);
						};
					},
				});
			};
		},
	});
	return { binding, calls };
}

/** A sample of authenticated routes: /v1 reads and sends, queues, a Resend-compatible send, the seed alias. */
function sample(
	ws: TestWorkspace,
	queue: RecordingQueue,
): { label: string; path: string; method?: string; body?: unknown }[] {
	return [
		{ label: "GET /v1/emails", path: "/v1/emails" },
		{ label: "POST /v1/emails", path: "/v1/emails", body: sampleEmail(ws.domain) },
		{ label: "GET /v1/queues", path: "/v1/queues" },
		{ label: "GET /v1/emails/{unknown}", path: "/v1/emails/nope" },
		{
			label: "POST /emails (Resend)",
			path: "/emails",
			body: { from: `app@${ws.domain}`, to: "r@example.test", subject: "Hi", text: "Hello" },
		},
		{ label: "GET /api/rate-limit", path: "/api/rate-limit" },
	].map((r) => ({ ...r, queue }));
}

async function callAll(ws: TestWorkspace, limiter: Env["WORKSPACE_LIMITER"]) {
	const queue = new RecordingQueue();
	const out: { label: string; res: Response }[] = [];
	for (const r of sample(ws, queue)) {
		const res = await request(r.path, {
			key: ws.key,
			...(r.body !== undefined ? { body: r.body } : {}),
			env: { SEND_QUEUE: queue, WORKSPACE_LIMITER: limiter },
		});
		out.push({ label: r.label, res });
	}
	return { out, queue };
}

const put = (key: string, limits: unknown[]) => request("/v1/rate-limits", { key, method: "PUT", body: { limits } });

describe("X-RateLimit-* on every authenticated response", () => {
	it("with a request limit: exact numbers from exactly one limiter call per request", async () => {
		const ws = await createWorkspace();
		await put(ws.key, [{ scope: "api_key", window: "hour", limit: 100 }]);
		const { binding, calls } = countingLimiter();
		const { out } = await callAll(ws, binding);
		expect(out.map((o) => [o.label, o.res.status])).toEqual([
			["GET /v1/emails", 200],
			["POST /v1/emails", 202],
			["GET /v1/queues", 200],
			["GET /v1/emails/{unknown}", 404],
			["POST /emails (Resend)", 200],
			["GET /api/rate-limit", 200],
		]);
		for (const { label, res } of out) {
			expect(res.headers.get("x-ratelimit-limit"), label).toBe("100");
			expect(res.headers.get("x-ratelimit-scope"), label).toBe("api_key");
			expect(Number(res.headers.get("x-ratelimit-reset")), label).toBeGreaterThan(Date.now() / 1000 + 3500);
		}
		expect(out.map((o) => o.res.headers.get("x-ratelimit-remaining"))).toEqual(["99", "98", "97", "96", "95", "94"]);
		// One admit per request; /api/rate-limit also reads the usage it reports (its handler's own call).
		expect(calls.filter((c) => c === "admit")).toHaveLength(6);
		expect(calls.filter((c) => c !== "admit")).toEqual(["usage"]);
	});

	it("without a request limit: no limiter call at all, and the headers say nothing limits the request", async () => {
		const ws = await createWorkspace();
		// A soft workspace limit defers mail, never refuses a request: still no call on the HTTP path.
		await put(ws.key, [{ scope: "workspace", window: "hour", limit: 1000, kind: "soft" }]);
		const { binding, calls } = countingLimiter();
		const { out, queue } = await callAll(ws, binding);
		expect(out.map((o) => o.res.status)).toEqual([200, 202, 200, 404, 200, 200]);
		for (const { label, res } of out) {
			expect(res.headers.get("x-ratelimit-limit"), label).toBe("unlimited");
			expect(res.headers.get("x-ratelimit-remaining"), label).toBe("unlimited");
			expect(Number(res.headers.get("x-ratelimit-reset")), label).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
			expect(res.headers.get("x-ratelimit-scope"), label).toBe("none");
		}
		// Only the /api/rate-limit handler's own usage read: no admit.
		expect(calls).toEqual(["usage"]);
		expect(queue.sent).toHaveLength(2);
	});

	it("when the one call fails, the request is admitted (fail open) and the headers say the count is unknown", async () => {
		const ws = await createWorkspace();
		await put(ws.key, [{ scope: "api_key", window: "hour", limit: 100 }]);
		const down = new Proxy(env.WORKSPACE_LIMITER, {
			get(target, prop) {
				if (prop === "get") return () => ({ admit: () => Promise.reject(new Error("limiter down")) });
				const value: unknown = Reflect.get(target, prop);
				return typeof value === "function" ? value.bind(target) : value;
			},
		});
		const res = await request("/v1/queues", { key: ws.key, env: { WORKSPACE_LIMITER: down } });
		expect(res.status).toBe(200);
		expect(res.headers.get("x-ratelimit-limit")).toBe("unknown");
		expect(res.headers.get("x-ratelimit-remaining")).toBe("unknown");
		expect(res.headers.get("x-ratelimit-scope")).toBe("unavailable");
		expect(res.headers.get("x-ratelimit-reset")).toMatch(/^\d+$/);
	});

	it("over a request limit: 429 with Retry-After and the envelope on /v1, Retry-After on the compat surface", async () => {
		const ws = await createWorkspace();
		await put(ws.key, [{ scope: "api_key", window: "minute", limit: 1 }]);
		expect((await request("/v1/queues", { key: ws.key })).status).toBe(200);
		const queue = new RecordingQueue();
		for (const r of sample(ws, queue)) {
			const res = await request(r.path, {
				key: ws.key,
				...(r.body !== undefined ? { body: r.body } : {}),
				env: { SEND_QUEUE: queue },
			});
			expect(res.status, r.label).toBe(429);
			expect(Number(res.headers.get("retry-after")), r.label).toBeGreaterThan(0);
			expect(res.headers.get("x-ratelimit-remaining"), r.label).toBe("0");
			expect(res.headers.get("x-ratelimit-limit"), r.label).toBe("1");
			if (r.path.startsWith("/emails")) continue;
			const body = await json<ErrorBody>(res);
			expect(body.error.code, r.label).toBe("rate_limited");
			expect(body.error.request_id, r.label).toBeTruthy();
		}
		expect(queue.sent).toHaveLength(0);
	});
});

describe("GET /api/rate-limit (seed 000)", () => {
	it("answers the seed's shape from the same limits and what was sent in the last 24 h", async () => {
		const ws = await createWorkspace();
		await put(ws.key, [
			{ scope: "workspace", window: "day", limit: 1000, kind: "soft" },
			{ scope: "sender", window: "day", limit: 100, kind: "hard" },
			{ scope: "sender", key: "vip@example.test", window: "day", limit: 10000, kind: "soft" },
		]);
		const queue = new RecordingQueue();
		for (const from of [`app@${ws.domain}`, `app@${ws.domain}`, `Other@${ws.domain}`]) {
			const res = await request("/v1/emails", {
				key: ws.key,
				body: sampleEmail(ws.domain, { from }),
				env: { SEND_QUEUE: queue },
			});
			expect(res.status).toBe(202);
		}
		const empty = await json(await request("/api/rate-limit", { key: ws.key }));
		expect(empty).toMatchObject({ total_sent_today: 0, workspace_count: 1 });
		await runQueue("mq-send", queue.sent, { SEND_QUEUE: new RecordingQueue() });
		const res = await request("/api/rate-limit", { key: ws.key });
		expect(res.status).toBe(200);
		expect(await json(res)).toEqual({
			total_sent_today: 3,
			workspace_count: 1,
			workspaces: {
				[ws.id]: {
					sent: 3,
					limit: 1000,
					remaining: 997,
					users: {
						[`app@${ws.domain}`]: { sent: 2, limit: 100 },
						[`other@${ws.domain}`]: { sent: 1, limit: 100 },
						"vip@example.test": { sent: 0, limit: 10000 },
					},
				},
			},
		});
		// Another workspace's key sees only its own workspace; without a key, the envelope's 401.
		const other = await createWorkspace();
		expect(await json(await request("/api/rate-limit", { key: other.key }))).toMatchObject({ total_sent_today: 0 });
		const anonymous = await request("/api/rate-limit");
		expect(anonymous.status).toBe(401);
		expect((await json<ErrorBody>(anonymous)).error.code).toBe("unauthorized");
	});
});
