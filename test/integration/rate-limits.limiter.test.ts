// The WorkspaceLimiter object: windows with a fake clock (the engine inside the real object, through
// runInDurableObject), both kinds at each level, overrides, restarts, and parallel batches.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LimiterEngine } from "../../src/domain/rate-limits/engine";
import { type LimiterConfig, limiterName, type ReserveItem } from "../../src/domain/rate-limits/model";
import { getStub } from "../../src/lib/durable-objects";
import { HOUR, MINUTE } from "../../src/lib/time";
import { createWorkspace } from "../helpers/workspace";

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

function items(n: number, sender = "app@x.test", queueId: string | null = null, tag = "m"): ReserveItem[] {
	return Array.from({ length: n }, (_, i) => ({ id: `${tag}${i}`, sender, queueId }));
}

function kinds(result: { decisions: Record<string, { kind: string }> }) {
	const tally: Record<string, number> = {};
	for (const d of Object.values(result.decisions)) tally[d.kind] = (tally[d.kind] ?? 0) + 1;
	return tally;
}

/** Runs `fn` against the engine of a fresh workspace's real limiter object, with a clock the test sets. */
async function withEngine<T>(fn: (engine: LimiterEngine) => T): Promise<T> {
	const ws = await createWorkspace();
	const stub = getStub(env.WORKSPACE_LIMITER, limiterName(ws.id));
	return runInDurableObject(stub, (_instance, state) => fn(new LimiterEngine(state.storage.sql)));
}

describe("sliding windows with a fake clock", () => {
	it("defers past a soft workspace hour limit until the window has moved, then grants again", async () => {
		const config: LimiterConfig = {
			limits: [{ scope: "workspace", key: null, window: "hour", limit: 10, kind: "soft" }],
			queues: [],
		};
		await withEngine((engine) => {
			const first = engine.reserve(config, items(15), T0);
			expect(kinds(first)).toEqual({ go: 10, defer: 5 });
			const deferred = Object.values(first.decisions).filter((d) => d.kind === "defer");
			for (const d of deferred) {
				if (d.kind !== "defer") continue;
				expect(d.reason).toBe("rate limit reached: workspace hour soft limit 10");
				// Counted for at least the hour, at most one slice (1 min) more.
				expect(d.until).toBeGreaterThanOrEqual(T0 + HOUR);
				expect(d.until).toBeLessThanOrEqual(T0 + HOUR + MINUTE);
			}
			// Half an hour later the window still holds all ten.
			expect(kinds(engine.reserve(config, items(1, "app@x.test", null, "a"), T0 + 30 * MINUTE))).toEqual({ defer: 1 });
			// Once it has rolled past the first ten, ten more fit (the one at +30 min was never counted), but
			// the six that wait keep their places: new mail gets the other four...
			expect(kinds(engine.reserve(config, items(11, "app@x.test", null, "b"), T0 + HOUR + MINUTE))).toEqual({
				go: 4,
				defer: 7,
			});
			// ...and the six, back when they were told, find their units.
			const back = [...items(15).slice(10), ...items(1, "app@x.test", null, "a")];
			expect(kinds(engine.reserve(config, back, T0 + HOUR + MINUTE))).toEqual({ go: 6 });
		});
	});

	it("rejects past a hard sender day limit, naming it, and a custom override beats the default", async () => {
		const config: LimiterConfig = {
			limits: [
				{ scope: "sender", key: null, window: "day", limit: 3, kind: "hard" },
				{ scope: "sender", key: "vip@x.test", window: "day", limit: 5, kind: "soft" },
			],
			queues: [],
		};
		await withEngine((engine) => {
			const plain = engine.reserve(config, items(4, "plain@x.test", null, "p"), T0);
			expect(kinds(plain)).toEqual({ go: 3, reject: 1 });
			expect(plain.decisions.p3).toEqual({ kind: "reject", reason: "rate limit reached: sender day hard limit 3" });
			// Each sender has its own counter under the default.
			expect(kinds(engine.reserve(config, items(3, "other@x.test", null, "o"), T0))).toEqual({ go: 3 });
			// The override: five, and soft, so the sixth waits instead of being refused.
			const vip = engine.reserve(config, items(6, "VIP@x.test", null, "v"), T0);
			expect(kinds(vip)).toEqual({ go: 5, defer: 1 });
			expect(vip.decisions.v5).toMatchObject({ reason: "rate limit reached: sender vip@x.test day soft limit 5" });
			// A day on, the default sender has room again.
			expect(kinds(engine.reserve(config, items(3, "plain@x.test", null, "q"), T0 + 24 * HOUR + 20 * MINUTE))).toEqual({
				go: 3,
			});
		});
	});

	it("holds a queue to its rate per minute and serves higher priority first under contention", async () => {
		const config: LimiterConfig = {
			limits: [{ scope: "workspace", key: null, window: "hour", limit: 4, kind: "soft" }],
			queues: [
				{ id: "q_low", priority: 1, ratePerMinute: null },
				{ id: "q_high", priority: 9, ratePerMinute: null },
				{ id: "q_slow", priority: 5, ratePerMinute: 2 },
			],
		};
		await withEngine((engine) => {
			// Low-priority mail first in the batch, high-priority after it: the high ones get the four slots.
			const mixed = engine.reserve(
				config,
				[...items(4, "a@x.test", "q_low", "low"), ...items(4, "a@x.test", "q_high", "high")],
				T0,
			);
			for (let i = 0; i < 4; i++) {
				expect(mixed.decisions[`high${i}`]).toEqual({ kind: "go" });
				expect(mixed.decisions[`low${i}`]?.kind).toBe("defer");
			}
		});
		await withEngine((engine) => {
			const slow = engine.reserve({ limits: [], queues: config.queues }, items(3, "a@x.test", "q_slow", "s"), T0);
			expect(kinds(slow)).toEqual({ go: 2, defer: 1 });
			expect(slow.decisions.s2).toMatchObject({ reason: "rate limit reached: queue q_slow minute soft limit 2" });
		});
	});

	it("keeps priority across calls: later high-priority mail is served before low-priority mail that waited", async () => {
		const config: LimiterConfig = {
			limits: [{ scope: "workspace", key: null, window: "hour", limit: 4, kind: "soft" }],
			queues: [
				{ id: "q_low", priority: 1, ratePerMinute: null },
				{ id: "q_high", priority: 9, ratePerMinute: null },
			],
		};
		await withEngine((engine) => {
			expect(kinds(engine.reserve(config, items(4, "a@x.test", "q_low", "sent"), T0))).toEqual({ go: 4 });
			expect(kinds(engine.reserve(config, items(4, "a@x.test", "q_low", "low"), T0 + MINUTE))).toEqual({ defer: 4 });
			// The urgent mail arrives later; it waits too, but ahead of the low-priority mail.
			expect(kinds(engine.reserve(config, items(2, "a@x.test", "q_high", "high"), T0 + 10 * MINUTE))).toEqual({
				defer: 2,
			});
			// The window opens. The low-priority mail happens to reach the limiter first: two units stay
			// reserved for the two urgent messages, so only two low ones go...
			const at = T0 + HOUR + 2 * MINUTE;
			const low = engine.reserve(config, items(4, "a@x.test", "q_low", "low"), at);
			expect(kinds(low)).toEqual({ go: 2, defer: 2 });
			// ...and the urgent ones, arriving after, still find theirs.
			expect(kinds(engine.reserve(config, items(2, "a@x.test", "q_high", "high"), at))).toEqual({ go: 2 });
		});
		// The control: without the urgent mail waiting, the same call sends all four low ones.
		await withEngine((engine) => {
			engine.reserve(config, items(4, "a@x.test", "q_low", "sent"), T0);
			engine.reserve(config, items(4, "a@x.test", "q_low", "low"), T0 + MINUTE);
			expect(kinds(engine.reserve(config, items(4, "a@x.test", "q_low", "low"), T0 + HOUR + 2 * MINUTE))).toEqual({
				go: 4,
			});
		});
	});

	it("spreads deferred messages over the window instead of releasing them all at once", async () => {
		const config: LimiterConfig = {
			limits: [{ scope: "workspace", key: null, window: "hour", limit: 2, kind: "soft" }],
			queues: [],
		};
		await withEngine((engine) => {
			engine.reserve(config, items(1, "a@x.test", null, "early"), T0);
			const later = engine.reserve(config, items(4, "a@x.test", null, "m"), T0 + 30 * MINUTE);
			const until = Object.values(later.decisions).flatMap((d) => (d.kind === "defer" ? [d.until] : []));
			expect(until).toHaveLength(3);
			// The first waits for the unit taken at T0, the next two for those taken at +30 min.
			expect(until[0]).toBeLessThan(T0 + HOUR + 2 * MINUTE);
			expect(until[1]).toBeGreaterThan(T0 + HOUR + 29 * MINUTE);
		});
	});

	it("gives back released units, and refuses a request over the key's limit with when to retry", async () => {
		const config: LimiterConfig = {
			limits: [
				{ scope: "workspace", key: null, window: "day", limit: 2, kind: "hard" },
				{ scope: "api_key", key: null, window: "second", limit: 2, kind: "hard" },
			],
			queues: [],
		};
		await withEngine((engine) => {
			const taken = engine.reserve(config, items(2), T0);
			expect(kinds(engine.reserve(config, items(1, "a@x.test", null, "x"), T0 + 10))).toEqual({ reject: 1 });
			engine.release({ at: taken.at, keys: { "w:day": 1 } });
			expect(kinds(engine.reserve(config, items(1, "a@x.test", null, "y"), T0 + 20))).toEqual({ go: 1 });

			const a = engine.admit(config, { keyId: "key_1", request: true, sends: [] }, T0);
			expect(a).toMatchObject({ refused: null, state: { limit: 2, remaining: 1 } });
			engine.admit(config, { keyId: "key_1", request: true, sends: [] }, T0 + 1);
			const third = engine.admit(config, { keyId: "key_1", request: true, sends: [] }, T0 + 2);
			expect(third.refused?.reason).toBe("rate limit reached: API key second hard limit 2");
			expect(third.refused?.retryAt).toBeGreaterThan(T0 + 1000);
			expect(third.refused?.retryAt).toBeLessThanOrEqual(T0 + 1100);
			expect(third.state).toMatchObject({ limit: 2, remaining: 0 });
			// Another key has its own counter.
			expect(engine.admit(config, { keyId: "key_2", request: true, sends: [] }, T0 + 2).refused).toBeNull();
			// The hard workspace limit is full: the send check refuses without counting.
			const sends = engine.admit(
				config,
				{ keyId: "key_2", request: false, sends: [{ sender: "a@x.test", n: 1 }] },
				T0 + 3,
			);
			expect(sends.sends[0]?.reason).toBe("rate limit reached: workspace day hard limit 2");
		});
	});
});

describe("the limiter object", () => {
	it("keeps its counters across a restart of the object", async () => {
		const ws = await createWorkspace();
		const stub = getStub(env.WORKSPACE_LIMITER, limiterName(ws.id));
		const config: LimiterConfig = {
			limits: [{ scope: "workspace", key: null, window: "day", limit: 5, kind: "soft" }],
			queues: [],
		};
		await stub.configure(ws.id, config);
		expect(kinds(await stub.reserve(ws.id, items(3)))).toEqual({ go: 3 });
		// Throwing away the instance (as an eviction or a deploy does) leaves only what storage holds.
		const before = await runInDurableObject(stub, (instance) => instance);
		await expect(runInDurableObject(stub, (_instance, state) => state.abort("restart"))).rejects.toThrow("restart");
		// A new stub reaches a new instance of the object, with only what storage kept.
		const fresh = getStub(env.WORKSPACE_LIMITER, limiterName(ws.id));
		expect(await runInDurableObject(fresh, (instance) => instance === before)).toBe(false);
		expect(kinds(await fresh.reserve(ws.id, items(3, "app@x.test", null, "n")))).toEqual({ go: 2, defer: 1 });
	});

	it("never grants more than the limit to many batches reserving in parallel", async () => {
		const ws = await createWorkspace();
		const stub = getStub(env.WORKSPACE_LIMITER, limiterName(ws.id));
		await stub.configure(ws.id, {
			limits: [{ scope: "workspace", key: null, window: "day", limit: 250, kind: "soft" }],
			queues: [],
		});
		const results = await Promise.all(
			Array.from({ length: 20 }, (_, b) => stub.reserve(ws.id, items(40, "a@x.test", null, `b${b}-`))),
		);
		const granted = results.reduce((sum, r) => sum + (kinds(r).go ?? 0), 0);
		const deferred = results.reduce((sum, r) => sum + (kinds(r).defer ?? 0), 0);
		expect(granted).toBe(250);
		expect(deferred).toBe(800 - 250);
	});

	it("loads its configuration from D1 when it has none", async () => {
		const ws = await createWorkspace();
		await env.DB.prepare(
			`INSERT INTO rate_limits (id, workspace_id, scope, key, window, "limit", kind) VALUES ('rl_1', ?, 'workspace', NULL, 'hour', 1, 'hard')`,
		)
			.bind(ws.id)
			.run();
		const stub = getStub(env.WORKSPACE_LIMITER, limiterName(ws.id));
		expect(kinds(await stub.reserve(ws.id, items(2)))).toEqual({ go: 1, reject: 1 });
	});
});
