// The GatewayBreaker Durable Object in workerd: transitions driven with a fake clock through the
// instance, state that survives eviction and abort, admissions that hold under concurrent calls,
// rolling stats, and the client that fails open and caches what it saw.
import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
	BREAKER_TIMEOUT_MS,
	breakerFor,
	forgetBreakerStates,
	knownBreakerState,
	mayAdmitWithoutAsking,
	OutcomeTally,
} from "../../src/domain/routing/breaker-client";
import { type BreakerConfig, DEFAULT_BREAKER } from "../../src/domain/routing/breaker-types";
import { getBreaker } from "../../src/lib/durable-objects";
import { newId } from "../../src/lib/ids";
import { counters } from "../../src/lib/metrics";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const config: BreakerConfig = { ...DEFAULT_BREAKER, failureThreshold: 3, successThreshold: 2, openTimeoutMs: 30_000 };
const fresh = () => getBreaker(env.GATEWAY_BREAKER, newId("gw"));
const failures = (n: number) => ({ admitted: n, successes: 0, failures: n, latenciesMs: [] });

afterEach(() => {
	vi.restoreAllMocks();
	forgetBreakerStates();
});

describe("GatewayBreaker", () => {
	it("is addressed as gw:<gateway id>", () => {
		const ns = env.GATEWAY_BREAKER;
		expect(getBreaker(ns, "gw_abc").id.equals(ns.idFromName("gw:gw_abc"))).toBe(true);
		expect(getBreaker(ns, "gw_abc").id.equals(ns.idFromName("gw_abc"))).toBe(false);
	});

	it("walks closed → open → half-open → closed on a fake clock", async () => {
		const stub = fresh();
		await runInDurableObject(stub, (instance) => {
			const e = instance.engine;
			expect(e.admit(config, 10, T0)).toMatchObject({ granted: 10, state: "closed" });
			expect(e.report(config, failures(3), T0 + 100).state).toBe("open");
			expect(e.admit(config, 10, T0 + 29_000)).toMatchObject({ granted: 0, reason: "open", retryAt: T0 + 30_100 });
			const probe = e.admit(config, 10, T0 + 30_100);
			expect(probe).toMatchObject({ granted: 1, state: "half_open", reason: "half_open_busy" });
			expect(e.admit(config, 10, T0 + 30_200).granted).toBe(0);
			const ok = { admitted: 1, successes: 1, failures: 0, epoch: probe.epoch, latenciesMs: [40] };
			expect(e.report(config, ok, T0 + 30_300).state).toBe("half_open");
			const second = e.admit(config, 10, T0 + 30_400);
			expect(e.report(config, { ...ok, epoch: second.epoch }, T0 + 30_500).state).toBe("closed");
			expect(e.admit(config, 10, T0 + 30_600)).toMatchObject({ granted: 10, reason: "ok" });
		});
	});

	it("keeps its state across eviction and abort: a fresh instance reads it from storage", async () => {
		const id = newId("gw");
		const stub = getBreaker(env.GATEWAY_BREAKER, id);
		await stub.admit(config, 3);
		const opened = await stub.report(config, failures(3));
		expect(opened.state).toBe("open");
		const before = await runInDurableObject(stub, (instance) => instance.engine);

		await evictDurableObject(stub);
		const evicted = getBreaker(env.GATEWAY_BREAKER, id);
		expect(await runInDurableObject(evicted, (instance) => instance.engine === before)).toBe(false);
		expect(await evicted.snapshot(config)).toMatchObject({
			state: "open",
			openedAt: opened.openedAt,
			epoch: opened.epoch,
		});

		await abortAllDurableObjects();
		const aborted = getBreaker(env.GATEWAY_BREAKER, id);
		const after = await aborted.snapshot(config);
		expect(after).toMatchObject({ state: "open", openedAt: opened.openedAt, inFlight: 0 });
		expect((await aborted.admit(config, 1)).reason).toBe("open");
	});

	it("never grants more than the rate limit under 200 concurrent admits", async () => {
		const stub = fresh();
		const limited = { ...config, rateLimits: { minute: 50 } };
		const admissions = await Promise.all(Array.from({ length: 200 }, () => stub.admit(limited, 1)));
		const granted = admissions.reduce((sum, a) => sum + a.granted, 0);
		expect(granted).toBe(50);
		expect(admissions.filter((a) => a.reason === "rate_limited")).toHaveLength(150);
		const snapshot = await stub.snapshot(limited);
		expect(snapshot.rateUsage).toEqual({ minute: 50 });
		expect(snapshot.inFlight).toBe(50);
	});

	it("admits exactly halfOpenMaxRequests probes under concurrent admits", async () => {
		const stub = fresh();
		const quick = { ...config, openTimeoutMs: 0, halfOpenMaxRequests: 2 };
		await stub.report(quick, failures(3));
		const admissions = await Promise.all(Array.from({ length: 40 }, () => stub.admit(quick, 3)));
		expect(admissions.reduce((sum, a) => sum + a.granted, 0)).toBe(2);
		expect(admissions.every((a) => a.state === "half_open")).toBe(true);
	});

	it("keeps sends, failures and p50/p95 for the last hour and the last day", async () => {
		const stub = fresh();
		await runInDurableObject(stub, (instance) => {
			const e = instance.engine;
			// Two hours ago: slow and failing; in the last hour: fast and fine.
			e.report(config, { admitted: 0, successes: 0, failures: 10, latenciesMs: Array(10).fill(5_000) }, T0 - 7_200_000);
			const fast = Array.from({ length: 100 }, (_, i) => 20 + i); // 20..119 ms
			e.report(config, { admitted: 0, successes: 98, failures: 0, permanent: 2, latenciesMs: fast }, T0 - 60_000);
			const { lastHour, lastDay } = e.snapshot(config, T0).stats;
			expect(lastHour).toMatchObject({ sends: 100, successes: 98, failures: 0 });
			expect(lastHour.p50Ms).toBeGreaterThanOrEqual(50);
			expect(lastHour.p50Ms).toBeLessThanOrEqual(75);
			expect(lastHour.p95Ms).toBeGreaterThanOrEqual(100);
			expect(lastHour.p95Ms).toBeLessThanOrEqual(150);
			expect(lastDay).toMatchObject({ sends: 110, successes: 98, failures: 10 });
			expect(lastDay.p95Ms).toBeGreaterThan(3_000);
			// A day later everything has left both windows, and the storage holds at most 60 + 24 buckets.
			expect(e.snapshot(config, T0 + 90_000_000).stats.lastDay.sends).toBe(0);
		});
		const rows = await runInDurableObject(stub, (_instance, state) =>
			state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM stats").one(),
		);
		expect(rows.n).toBeLessThanOrEqual(84);
	});

	it("reset closes an open breaker and keeps the rate usage", async () => {
		const stub = fresh();
		const limited = { ...config, rateLimits: { day: 10 } };
		await stub.admit(limited, 4);
		await stub.report(limited, { ...failures(3), admitted: 4, permanent: 1 });
		expect((await stub.snapshot(limited)).state).toBe("open");
		const after = await stub.reset();
		expect(after).toMatchObject({ state: "closed", consecutiveFailures: 0, openedAt: null, rateUsage: { day: 4 } });
		expect((await stub.admit(limited, 20)).granted).toBe(6);
	});
});

describe("breaker client", () => {
	const unreachable = (behaviour: "throw" | "hang") =>
		({
			idFromName: (name: string) => env.GATEWAY_BREAKER.idFromName(name),
			get: () => ({
				admit: () =>
					behaviour === "throw" ? Promise.reject(new Error("Durable Object reset")) : new Promise(() => {}),
				report: () => Promise.reject(new Error("Durable Object reset")),
				snapshot: () => Promise.reject(new Error("Durable Object reset")),
				reset: () => Promise.reject(new Error("Durable Object reset")),
			}),
		}) as unknown as typeof env.GATEWAY_BREAKER;

	it("fails open when the DO cannot be reached, and logs the gateway id only", async () => {
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		const before = counters.breaker_fail_open_total;
		const client = breakerFor(unreachable("throw"), "gw_down", { ...config, rateLimits: { second: 1 } });
		expect(await client.admit(25)).toMatchObject({ granted: 25, state: "closed", reason: "ok" });
		expect(await client.report(failures(25))).toBeNull();
		expect(counters.breaker_fail_open_total - before).toBe(2);
		expect(warn).toHaveBeenCalledWith(
			"gateway breaker unreachable; failing open",
			expect.objectContaining({ gateway_id: "gw_down", op: "admit" }),
		);
		expect(JSON.stringify(warn.mock.calls)).not.toContain("rateLimits");
	});

	it(
		"fails open when the DO does not answer in time",
		async () => {
			vi.spyOn(console, "warn").mockImplementation(() => {});
			const started = Date.now();
			const admission = await breakerFor(unreachable("hang"), "gw_slow", config).admit(7);
			expect(admission.granted).toBe(7);
			expect(Date.now() - started).toBeGreaterThanOrEqual(BREAKER_TIMEOUT_MS - 50);
		},
		BREAKER_TIMEOUT_MS + 5_000,
	);

	it("lets a caller skip admit only for a recently seen closed breaker without rate limits", async () => {
		const gatewayId = newId("gw");
		expect(mayAdmitWithoutAsking(gatewayId, config)).toBe(false);
		const client = breakerFor(env.GATEWAY_BREAKER, gatewayId, config);
		await client.admit(1);
		expect(knownBreakerState(gatewayId)).toBe("closed");
		expect(mayAdmitWithoutAsking(gatewayId, config)).toBe(true);
		expect(mayAdmitWithoutAsking(gatewayId, { ...config, rateLimits: { hour: 100 } })).toBe(false);
		expect(mayAdmitWithoutAsking(gatewayId, config, Date.now() + 60_000)).toBe(false);
		// Reported failures open it; the cache follows what the report answered.
		await client.report(failures(3));
		expect(knownBreakerState(gatewayId)).toBe("open");
		expect(mayAdmitWithoutAsking(gatewayId, config)).toBe(false);
	});

	it("counts a report with the fail-open epoch against the current state", async () => {
		const gatewayId = newId("gw");
		const client = breakerFor(env.GATEWAY_BREAKER, gatewayId, config);
		const snapshot = await client.report({ ...failures(3), epoch: 0 });
		expect(snapshot?.state).toBe("open");
	});

	it("builds a batch's report with OutcomeTally, the way the consumer reports", async () => {
		const gatewayId = newId("gw");
		const client = breakerFor(env.GATEWAY_BREAKER, gatewayId, { ...config, rateLimits: { hour: 10 } });
		const admission = await client.admit(5);
		const tally = new OutcomeTally(admission);
		tally.add("success", 30);
		tally.add("permanent", 40);
		tally.add("failure", 50);
		tally.add("failure", 60);
		expect(tally.report()).toEqual({
			admitted: 5,
			successes: 1,
			failures: 2,
			permanent: 1,
			epoch: admission.epoch,
			order: ["success", "permanent", "failure", "failure"],
			latenciesMs: [30, 40, 50, 60],
		});
		const snapshot = await client.report(tally.report());
		// Two trailing failures of three needed: still closed; the one send never made is given back.
		expect(snapshot).toMatchObject({ state: "closed", consecutiveFailures: 2, inFlight: 0, rateUsage: { hour: 4 } });
		expect(snapshot?.stats.lastHour).toMatchObject({ sends: 4, successes: 1, failures: 2 });
		expect(new OutcomeTally(null).report()).not.toHaveProperty("epoch");
	});
});
