// /v1/gateways/status, /health, /metrics and /{id}/reset over breakers the client really drove: an
// open breaker shows and is closed by hand, own limits show their use, stats show sends and latency,
// one breaker call per gateway per request, and an unreachable breaker shows as null, not a 500.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runHealthChecks } from "../../src/domain/gateway-health";
import { breakerFor } from "../../src/domain/routing/breaker-client";
import { type BreakerConfig, DEFAULT_BREAKER } from "../../src/domain/routing/breaker-types";
import { counters } from "../../src/lib/metrics";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Status = {
	id: string;
	name: string;
	breaker: { state: string; consecutive_failures: number; opened_at: string | null; in_flight: number } | null;
	health_status: string;
	rate_limits: Record<string, { limit: number; used: number | null; remaining: number | null } | null>;
};
type Window = {
	sends: number;
	successes: number;
	failures: number;
	success_rate: number | null;
	p50_ms: number | null;
	p95_ms: number | null;
};
type Metrics = { id: string; last_hour: Window | null; last_24h: Window | null; in_flight: number | null };

const mailgun = {
	name: "mg",
	type: "mailgun",
	config: { domain: "mg.example.com" },
	credentials: { api_key: "key-0123456789abcdef" },
	breaker: { failure_threshold: 2 },
	rate_limits: { minute: 100, day: 1_000 },
};
const configOf: BreakerConfig = { ...DEFAULT_BREAKER, failureThreshold: 2, rateLimits: { minute: 100, day: 1_000 } };

afterEach(() => vi.restoreAllMocks());

async function setUp() {
	const ws = await createWorkspace();
	const created = await json<{ id: string }>(await request("/v1/gateways", { key: ws.key, body: mailgun }));
	return { ws, id: created.id };
}

describe("gateway operations", () => {
	it("shows an open breaker and the limits used, and reset closes it", async () => {
		const { ws, id } = await setUp();
		const breaker = breakerFor(env.GATEWAY_BREAKER, id, configOf);
		const admission = await breaker.admit(10);
		expect(admission.granted).toBe(10);
		await breaker.report({
			admitted: 10,
			successes: 8,
			failures: 0,
			permanent: 0,
			epoch: admission.epoch,
			latenciesMs: [],
		});
		await breaker.admit(2);
		await breaker.report({ admitted: 2, successes: 0, failures: 2, latenciesMs: [] });

		const status = await json<{ data: Status[] }>(await request("/v1/gateways/status", { key: ws.key }));
		const mg = status.data.find((g) => g.id === id);
		expect(mg?.breaker).toMatchObject({ state: "open", in_flight: 0 });
		expect(mg?.breaker?.opened_at).toEqual(expect.any(String));
		// 12 admitted, 2 of them never attempted and given back.
		expect(mg?.rate_limits).toEqual({
			second: null,
			minute: { limit: 100, used: 10, remaining: 90 },
			hour: null,
			day: { limit: 1_000, used: 10, remaining: 990 },
		});
		const sandbox = status.data.find((g) => g.name === "Sandbox");
		expect(sandbox?.breaker?.state).toBe("closed");

		const reset = await request(`/v1/gateways/${id}/reset`, { key: ws.key, method: "POST" });
		expect(reset.status).toBe(200);
		expect(await json(reset)).toMatchObject({
			id,
			breaker: { state: "closed", consecutive_failures: 0, opened_at: null },
		});
		const after = await json<{ data: Status[] }>(await request("/v1/gateways/status", { key: ws.key }));
		expect(after.data.find((g) => g.id === id)?.breaker?.state).toBe("closed");
		expect((await breaker.admit(5)).granted).toBe(5);
	});

	it("reports sends, failures, success rate and p50/p95 over the last hour and 24 hours", async () => {
		const { ws, id } = await setUp();
		const breaker = breakerFor(env.GATEWAY_BREAKER, id, configOf);
		const latencies = Array.from({ length: 20 }, (_, i) => 100 + i * 10); // 100..290 ms
		await breaker.report({ admitted: 0, successes: 18, failures: 1, permanent: 1, latenciesMs: latencies });
		const metrics = await json<{ data: Metrics[] }>(await request("/v1/gateways/metrics", { key: ws.key }));
		const mg = metrics.data.find((g) => g.id === id);
		expect(mg?.last_hour).toMatchObject({ sends: 20, successes: 18, failures: 1, success_rate: 0.9474 });
		expect(mg?.last_24h).toEqual(mg?.last_hour);
		expect(mg?.last_hour?.p50_ms).toBeGreaterThanOrEqual(150);
		expect(mg?.last_hour?.p50_ms).toBeLessThanOrEqual(200);
		expect(mg?.last_hour?.p95_ms).toBeGreaterThanOrEqual(200);
		expect(mg?.last_hour?.p95_ms).toBeLessThanOrEqual(300);
		const idle = metrics.data.find((g) => g.id !== id);
		expect(idle?.last_hour).toEqual({
			sends: 0,
			successes: 0,
			failures: 0,
			success_rate: null,
			p50_ms: null,
			p95_ms: null,
		});
	});

	it("shows health as the checks recorded it, with a summary", async () => {
		const { ws } = await setUp();
		const before = await json<{ status: string; data: { health_status: string; next_check_at: string | null }[] }>(
			await request("/v1/gateways/health", { key: ws.key }),
		);
		expect(before.status).toBe("unknown");
		// The sandbox has no credential check (healthy); the mailgun check fails against a 401.
		vi.spyOn(console, "warn").mockImplementation(() => {});
		vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response("Forbidden", { status: 401 }));
		const now = Date.now();
		await env.DB.prepare("UPDATE gateways SET last_health_check_at = ? WHERE workspace_id != ?").bind(now, ws.id).run();
		await env.DB.prepare(
			"UPDATE gateways SET config = json_set(config, '$.health_check_failure_threshold', 1) WHERE workspace_id = ?",
		)
			.bind(ws.id)
			.run();
		expect(
			(
				await runHealthChecks(
					{
						db: env.DB,
						encryptionKey: env.ENCRYPTION_KEY,
						context: { bodies: env.BODIES, fetch, environment: "test" },
					},
					now,
				)
			).checked,
		).toBe(2);
		const after = await json<{
			status: string;
			data: { name: string; health_status: string; consecutive_failed_checks: number; next_check_at: string | null }[];
		}>(await request("/v1/gateways/health", { key: ws.key }));
		expect(after.status).toBe("degraded");
		expect(after.data.find((g) => g.name === "mg")).toMatchObject({
			health_status: "unhealthy",
			consecutive_failed_checks: 1,
		});
		expect(after.data.find((g) => g.name === "Sandbox")).toMatchObject({
			health_status: "healthy",
			next_check_at: new Date(now + 300_000).toISOString(),
		});
	});

	it("makes one breaker call per gateway per request", async () => {
		const { ws } = await setUp();
		await request("/v1/gateways", { key: ws.key, body: { ...mailgun, name: "mg2" } });
		const before = counters.breaker_calls_total;
		await request("/v1/gateways/status", { key: ws.key });
		expect(counters.breaker_calls_total - before).toBe(3);
		await request("/v1/gateways/metrics", { key: ws.key });
		expect(counters.breaker_calls_total - before).toBe(6);
	});

	it("shows an unreachable breaker as null and refuses a reset with 503", async () => {
		const { ws, id } = await setUp();
		vi.spyOn(console, "warn").mockImplementation(() => {});
		const down = {
			idFromName: (name: string) => env.GATEWAY_BREAKER.idFromName(name),
			get: () => ({
				snapshot: () => Promise.reject(new Error("down")),
				reset: () => Promise.reject(new Error("down")),
			}),
		} as unknown as typeof env.GATEWAY_BREAKER;
		const res = await request("/v1/gateways/status", { key: ws.key, env: { GATEWAY_BREAKER: down } });
		expect(res.status).toBe(200);
		const mg = (await json<{ data: Status[] }>(res)).data.find((g) => g.id === id);
		expect(mg?.breaker).toBeNull();
		expect(mg?.rate_limits.minute).toEqual({ limit: 100, used: null, remaining: null });
		const metrics = await json<{ data: Metrics[] }>(
			await request("/v1/gateways/metrics", { key: ws.key, env: { GATEWAY_BREAKER: down } }),
		);
		expect(metrics.data.find((g) => g.id === id)).toMatchObject({ last_hour: null, in_flight: null });
		const reset = await request(`/v1/gateways/${id}/reset`, {
			key: ws.key,
			method: "POST",
			env: { GATEWAY_BREAKER: down },
		});
		expect(reset.status).toBe(503);
		expect((await json<{ error: { code: string } }>(reset)).error.code).toBe("service_unavailable");
	});
});
