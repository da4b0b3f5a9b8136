// The breaker's state machine, rate windows and stats as pure functions of their state and a fake
// clock (the GatewayBreaker DO tests cover the same through storage).
import { describe, expect, it } from "vitest";
import {
	admit,
	type BreakerData,
	IN_FLIGHT_LEASE_MS,
	inFlightOf,
	initialData,
	report,
	reset,
} from "../../src/domain/routing/breaker";
import { addTally, emptyBucket, quantile, summarize } from "../../src/domain/routing/breaker-stats";
import type { BreakerConfig, OutcomeReport } from "../../src/domain/routing/breaker-types";
import { DEFAULT_BREAKER } from "../../src/domain/routing/breaker-types";
import { emptyWindows, recordSends, roomAt, roomIn, usageOf } from "../../src/domain/routing/breaker-windows";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const config: BreakerConfig = { ...DEFAULT_BREAKER, failureThreshold: 3, successThreshold: 2, openTimeoutMs: 30_000 };
const fail = (n: number, extra: Partial<OutcomeReport> = {}): OutcomeReport => ({
	admitted: n,
	successes: 0,
	failures: n,
	latenciesMs: [],
	...extra,
});
const succeed = (n: number, extra: Partial<OutcomeReport> = {}): OutcomeReport => ({
	admitted: n,
	successes: n,
	failures: 0,
	latenciesMs: [],
	...extra,
});

function run(data: BreakerData, wanted: number, now: number, c = config) {
	return admit(data, c, wanted, now);
}

describe("breaker state machine", () => {
	it("opens after failureThreshold consecutive failures, not before", () => {
		let data = report(initialData(), config, fail(2), T0);
		expect(data.state).toBe("closed");
		expect(data.consecutiveFailures).toBe(2);
		data = report(data, config, fail(1), T0 + 1);
		expect(data.state).toBe("open");
		expect(data.openedAt).toBe(T0 + 1);
		const refused = run(data, 10, T0 + 2);
		expect(refused.admission).toMatchObject({ granted: 0, state: "open", reason: "open", retryAt: T0 + 1 + 30_000 });
	});

	it("a success resets the count, and permanent refusals count as neither", () => {
		let data = report(initialData(), config, fail(2), T0);
		data = report(data, config, succeed(1), T0);
		expect(data.consecutiveFailures).toBe(0);
		data = report(data, config, { admitted: 5, successes: 0, failures: 0, permanent: 5, latenciesMs: [] }, T0);
		expect(data.consecutiveFailures).toBe(0);
		data = report(data, config, fail(2), T0);
		expect(data.state).toBe("closed");
	});

	it("follows the order of a report when it has one", () => {
		// F F S F F F: three in a row at the end opens; the same counts unordered would not.
		const order = ["failure", "failure", "success", "failure", "failure", "failure"] as const;
		const counts = { admitted: 6, successes: 1, failures: 5, latenciesMs: [] };
		expect(report(initialData(), config, { ...counts, order: [...order] }, T0).state).toBe("open");
		expect(report(initialData(), config, counts, T0).state).toBe("closed");
	});

	it("goes half-open after the timeout, admits at most halfOpenMaxRequests probes, closes after successThreshold", () => {
		const open = report(initialData(), config, fail(3), T0);
		expect(run(open, 5, T0 + 29_999).admission.state).toBe("open");
		const probe = run(open, 5, T0 + 30_000);
		expect(probe.admission).toMatchObject({ granted: 1, state: "half_open", reason: "half_open_busy" });
		// The probe slot is taken until its report comes.
		const busy = run(probe.data, 5, T0 + 30_001);
		expect(busy.admission).toMatchObject({ granted: 0, reason: "half_open_busy" });
		let data = report(busy.data, config, succeed(1, { epoch: probe.admission.epoch }), T0 + 30_100);
		expect(data.state).toBe("half_open");
		const second = run(data, 5, T0 + 30_200);
		expect(second.admission.granted).toBe(1);
		data = report(second.data, config, succeed(1, { epoch: second.admission.epoch }), T0 + 30_300);
		expect(data.state).toBe("closed");
		expect(run(data, 5, T0 + 30_400).admission).toMatchObject({ granted: 5, reason: "ok" });
	});

	it("admits up to halfOpenMaxRequests probes at a time when configured higher", () => {
		const wide = { ...config, halfOpenMaxRequests: 3 };
		const open = report(initialData(), wide, fail(3), T0);
		const first = run(open, 2, T0 + 30_000, wide);
		expect(first.admission.granted).toBe(2);
		const second = run(first.data, 2, T0 + 30_001, wide);
		expect(second.admission.granted).toBe(1);
		expect(inFlightOf(second.data)).toBe(3);
	});

	it("any failed probe reopens, with a fresh timeout", () => {
		const open = report(initialData(), config, fail(3), T0);
		const probe = run(open, 1, T0 + 40_000);
		const reopened = report(
			probe.data,
			config,
			{ admitted: 1, successes: 0, failures: 1, epoch: probe.admission.epoch, latenciesMs: [] },
			T0 + 41_000,
		);
		expect(reopened.state).toBe("open");
		expect(reopened.openedAt).toBe(T0 + 41_000);
		expect(run(reopened, 1, T0 + 70_999).admission.granted).toBe(0);
		expect(run(reopened, 1, T0 + 71_000).admission.granted).toBe(1);
	});

	it("ignores, for the state, outcomes of sends admitted before a transition", () => {
		const before = run(initialData(), 50, T0);
		const open = report(before.data, config, fail(3, { epoch: before.admission.epoch }), T0 + 10);
		const probe = run(open, 1, T0 + 30_010);
		// The closed-state batch's late failures are not a failed probe; they still leave in-flight.
		const late = report(probe.data, config, fail(47, { admitted: 47, epoch: before.admission.epoch }), T0 + 30_020);
		expect(late.state).toBe("half_open");
		expect(inFlightOf(late)).toBe(1);
	});

	it("frees a probe slot whose holder never reported once its lease runs out", () => {
		const open = report(initialData(), config, fail(3), T0);
		const probe = run(open, 1, T0 + 30_000);
		expect(run(probe.data, 1, T0 + 30_000 + IN_FLIGHT_LEASE_MS - 10_000).admission.granted).toBe(0);
		expect(run(probe.data, 1, T0 + 30_000 + IN_FLIGHT_LEASE_MS + 10_000).admission.granted).toBe(1);
	});

	it("reset closes an open breaker by hand", () => {
		const open = report(initialData(), config, fail(3), T0);
		const closed = reset(open, T0 + 1);
		expect(closed).toMatchObject({ state: "closed", consecutiveFailures: 0, openedAt: null });
		expect(closed.epoch).toBeGreaterThan(open.epoch);
		expect(run(closed, 4, T0 + 2).admission.granted).toBe(4);
	});

	it("grants nothing for a request that is not a count", () => {
		for (const wanted of [Number.NaN, -3, Number.POSITIVE_INFINITY]) {
			expect(run(initialData(), wanted, T0).admission.granted, String(wanted)).toBe(0);
		}
		expect(run(initialData(), 2.7, T0).admission.granted).toBe(2);
	});

	it("counts in flight as admitted minus reported", () => {
		const a = run(initialData(), 10, T0);
		const b = run(a.data, 5, T0 + 1);
		expect(inFlightOf(b.data)).toBe(15);
		expect(inFlightOf(report(b.data, config, succeed(10), T0 + 2))).toBe(5);
	});
});

describe("gateway rate windows", () => {
	const limited = (limits: BreakerConfig["rateLimits"]) => ({ ...config, rateLimits: limits });

	it("never grants more than a limit allows, and says when room returns", () => {
		const c = limited({ minute: 10 });
		const first = run(initialData(), 7, T0, c);
		expect(first.admission.granted).toBe(7);
		const second = run(first.data, 7, T0 + 5_000, c);
		expect(second.admission).toMatchObject({ granted: 3, reason: "rate_limited" });
		// The 7 admitted at T0 leave the rolling minute once the slot after T0 starts a minute later.
		expect(second.admission.retryAt).toBe(T0 + 1_000 + 60_000);
		expect(run(second.data, 1, T0 + 60_999, c).admission.granted).toBe(0);
		expect(run(second.data, 10, T0 + 61_000, c).admission.granted).toBe(7);
	});

	it("the second is a fixed window", () => {
		const c = limited({ second: 5 });
		const a = run(initialData(), 5, T0 + 100, c);
		expect(run(a.data, 1, T0 + 999, c).admission.granted).toBe(0);
		expect(run(a.data, 1, T0 + 999, c).admission.retryAt).toBe(T0 + 1_000);
		expect(run(a.data, 5, T0 + 1_000, c).admission.granted).toBe(5);
	});

	it("a rolling day is never exceeded across midnight, unlike a fixed window", () => {
		const c = limited({ day: 100 });
		const midnight = Date.UTC(2026, 0, 2);
		const late = run(initialData(), 100, midnight - 60_000, c);
		expect(run(late.data, 100, midnight + 60_000, c).admission.granted).toBe(0);
		// Room returns a day (plus at most one hour slot) after the sends.
		expect(run(late.data, 100, midnight - 60_000 + 86_400_000 + 3_600_000, c).admission.granted).toBe(100);
	});

	it("takes the tightest of several limits and gives back admitted sends never attempted", () => {
		const c = limited({ second: 50, hour: 20 });
		const a = run(initialData(), 30, T0, c);
		expect(a.admission.granted).toBe(20);
		const back = report(a.data, c, { admitted: 20, successes: 5, failures: 0, permanent: 3, latenciesMs: [] }, T0 + 10);
		expect(usageOf(back.windows, "hour", T0 + 10)).toBe(8);
		expect(run(back, 30, T0 + 2_000, c).admission.granted).toBe(12);
	});

	it("reports room and the time it returns for raw windows", () => {
		const windows = recordSends(emptyWindows(), 4, T0);
		expect(roomIn(windows, { minute: 5 }, T0)).toBe(1);
		expect(roomIn(windows, {}, T0)).toBe(Number.POSITIVE_INFINITY);
		expect(roomAt(windows, { minute: 4 }, T0)).toBe(T0 + 61_000);
	});
});

describe("rolling stats", () => {
	it("p50/p95 come from the histogram, within a bin's width", () => {
		const latencies = Array.from({ length: 1000 }, (_, i) => i + 1); // 1..1000 ms
		const bucket = addTally(emptyBucket(0), { sends: 1000, successes: 990, failures: 10, latenciesMs: latencies });
		const stats = summarize([bucket]);
		expect(stats).toMatchObject({ sends: 1000, successes: 990, failures: 10 });
		expect(stats.p50Ms).toBeGreaterThanOrEqual(400);
		expect(stats.p50Ms).toBeLessThanOrEqual(500);
		expect(stats.p95Ms).toBeGreaterThanOrEqual(750);
		expect(stats.p95Ms).toBeLessThanOrEqual(1000);
		expect(quantile(emptyBucket(0).hist, 0.5)).toBeNull();
	});
});
