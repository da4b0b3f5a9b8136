// The router: strategies over many messages, rules in order, patterns, modes and failover chains.
import { describe, expect, it } from "vitest";
import { matchesPattern } from "../../src/domain/routing/patterns";
import {
	type RoutableGateway,
	type RouteRequest,
	type RouterState,
	type RoutingRule,
	type RoutingSettings,
	route,
} from "../../src/domain/routing/router";

const gw = (id: string, over: Partial<RoutableGateway> = {}): RoutableGateway => ({
	id,
	type: "smtp",
	priority: 10,
	weight: 1,
	isLegacy: false,
	healthy: true,
	canRoute: [],
	excludePatterns: [],
	failoverTo: [],
	...over,
});
const req = (recipient = "a@x.test", over: Partial<RouteRequest> = {}): RouteRequest => ({
	fromEmail: "app@example.test",
	recipient,
	tags: [],
	headers: {},
	...over,
});
const settings = (over: Partial<RoutingSettings> = {}): RoutingSettings => ({
	mode: "gateway",
	strategy: "priority",
	failoverOrder: [],
	...over,
});

/** Deterministic state: a seeded generator, real rotation counters, fixed loads. */
function state(loads: Record<string, number> = {}, seed = 42): RouterState {
	let x = seed;
	const turns = new Map<string, number>();
	return {
		random: () => {
			x = (x * 1103515245 + 12345) % 2 ** 31;
			return x / 2 ** 31;
		},
		nextTurn: (key) => {
			const n = turns.get(key) ?? 0;
			turns.set(key, n + 1);
			return n;
		},
		loadOf: (id) => loads[id] ?? 0,
	};
}

const ids = (list: RoutableGateway[]) => list.map((g) => g.id);

describe("strategies", () => {
	const three = [gw("a", { priority: 1 }), gw("b", { priority: 2 }), gw("c", { priority: 3 })];

	it("priority: lowest number first, the rest as failover order", () => {
		expect(ids(route(req(), settings(), [], [...three].reverse(), state()))).toEqual(["a", "b", "c"]);
	});

	it("round_robin: exactly even over many messages", () => {
		const s = state();
		const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
		for (let i = 0; i < 3000; i++) {
			const first = route(req(), settings({ strategy: "round_robin" }), [], three, s)[0]?.id ?? "";
			counts[first] = (counts[first] ?? 0) + 1;
		}
		expect(counts).toEqual({ a: 1000, b: 1000, c: 1000 });
	});

	it("weighted: shares follow the weights within 2 percentage points over 20,000 messages", () => {
		// Binomial standard deviation at n = 20,000 and p = 0.5 is 0.35 points: 2 points is over 5 sigma.
		const weighted = [gw("a", { weight: 5 }), gw("b", { weight: 3 }), gw("c", { weight: 2 })];
		const s = state({}, 7);
		const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
		const n = 20_000;
		for (let i = 0; i < n; i++) {
			const first = route(req(), settings({ strategy: "weighted" }), [], weighted, s)[0]?.id ?? "";
			counts[first] = (counts[first] ?? 0) + 1;
		}
		expect(Math.abs((counts.a ?? 0) / n - 0.5)).toBeLessThan(0.02);
		expect(Math.abs((counts.b ?? 0) / n - 0.3)).toBeLessThan(0.02);
		expect(Math.abs((counts.c ?? 0) / n - 0.2)).toBeLessThan(0.02);
	});

	it("least_loaded: the gateway with the least load, ties by priority", () => {
		expect(ids(route(req(), settings({ strategy: "least_loaded" }), [], three, state({ a: 5, b: 1, c: 1 })))).toEqual([
			"b",
			"c",
			"a",
		]);
	});

	it("domain: recipient domains go to the gateways that name them, others to catch-alls", () => {
		const gws = [
			gw("gmail", { priority: 5, canRoute: ["*@gmail.com", "*@googlemail.com"] }),
			gw("ses", { priority: 1 }),
			gw("ms", { priority: 2, canRoute: ["*@outlook.com"] }),
		];
		const s = settings({ strategy: "domain" });
		expect(ids(route(req("Ada@GMAIL.com"), s, [], gws, state()))).toEqual(["gmail", "ses"]);
		expect(ids(route(req("ada@googlemail.com"), s, [], gws, state()))).toEqual(["gmail", "ses"]);
		expect(ids(route(req("ada@outlook.com"), s, [], gws, state()))).toEqual(["ms", "ses"]);
		expect(ids(route(req("ada@other.test"), s, [], gws, state()))).toEqual(["ses"]);
	});

	it("failover: the configured order, then the rest by priority", () => {
		expect(
			ids(route(req(), settings({ strategy: "failover", failoverOrder: ["c", "a"] }), [], three, state())),
		).toEqual(["c", "a", "b"]);
	});

	it("a queue's strategy beats the workspace's", () => {
		const r = route(
			req("a@x.test", { queueStrategy: "failover" }),
			settings({ failoverOrder: ["b"] }),
			[],
			three,
			state(),
		);
		expect(ids(r)[0]).toBe("b");
	});
});

describe("eligibility and chains", () => {
	it("drops unhealthy gateways and those whose patterns refuse the recipient", () => {
		const gws = [
			gw("sick", { priority: 1, healthy: false }),
			gw("only-corp", { priority: 2, canRoute: ["*@corp.test"] }),
			gw("no-corp", { priority: 3, excludePatterns: ["*@corp.test"] }),
			gw("any", { priority: 4 }),
		];
		expect(ids(route(req("a@corp.test"), settings(), [], gws, state()))).toEqual(["only-corp", "any"]);
		expect(ids(route(req("a@x.test"), settings(), [], gws, state()))).toEqual(["no-corp", "any"]);
	});

	it("follows failover_to chains right after the gateway that names them", () => {
		const gws = [gw("a", { priority: 1, failoverTo: ["c"] }), gw("b", { priority: 2 }), gw("c", { priority: 3 })];
		expect(ids(route(req(), settings(), [], gws, state()))).toEqual(["a", "c", "b"]);
	});

	it("legacy mode uses only the legacy gateway; hybrid falls back to it when nothing else is eligible", () => {
		const gws = [gw("new", { priority: 1 }), gw("old", { priority: 9, isLegacy: true })];
		expect(ids(route(req(), settings({ mode: "legacy" }), [], gws, state()))).toEqual(["old"]);
		expect(ids(route(req(), settings({ mode: "hybrid" }), [], [gws[1] as RoutableGateway], state()))).toEqual(["old"]);
		const sick = [gw("new", { priority: 1, healthy: false }), gws[1] as RoutableGateway];
		expect(ids(route(req(), settings({ mode: "hybrid" }), [], sick, state()))).toEqual(["old"]);
		expect(ids(route(req(), settings({ mode: "gateway" }), [], sick, state()))).toEqual(["old"]);
	});
});

describe("routing rules", () => {
	const gws = [gw("a", { priority: 1 }), gw("b", { priority: 2 }), gw("c", { priority: 3 })];
	const rule = (
		id: string,
		position: number,
		match: RoutingRule["match"],
		gatewayIds: string[],
		strategy: RoutingRule["strategy"] = null,
	): RoutingRule => ({
		id,
		position,
		match,
		gatewayIds,
		strategy,
	});

	it("applies the first matching rule by position", () => {
		const rules = [rule("late", 20, { tag: "vip" }, ["c"]), rule("early", 10, { tag: "vip" }, ["b"])];
		expect(ids(route(req("a@x.test", { tags: ["vip"] }), settings(), rules, gws, state()))).toEqual(["b"]);
		expect(ids(route(req("a@x.test"), settings(), rules, gws, state()))).toEqual(["a", "b", "c"]);
	});

	it("matches sender domain, recipient domain with wildcards, tag and header", () => {
		const rules = [
			rule("sender", 1, { senderDomain: "*.corp.test" }, ["c"]),
			rule("recipient", 2, { recipientDomain: "*.edu" }, ["b"]),
			rule("header", 3, { header: { name: "X-Stream", value: "bulk" } }, ["c", "b"]),
		];
		expect(ids(route(req("a@x.test", { fromEmail: "app@mail.corp.test" }), settings(), rules, gws, state()))).toEqual([
			"c",
		]);
		expect(ids(route(req("a@mit.edu"), settings(), rules, gws, state()))).toEqual(["b"]);
		expect(ids(route(req("a@x.test", { headers: { "x-stream": "bulk" } }), settings(), rules, gws, state()))).toEqual([
			"c",
			"b",
		]);
	});

	it("a rule may name a strategy over its pinned gateways", () => {
		const s = state();
		const rules = [rule("rr", 1, { tag: "t" }, ["b", "c"], "round_robin")];
		const firsts = Array.from(
			{ length: 4 },
			() => route(req("a@x.test", { tags: ["t"] }), settings(), rules, gws, s)[0]?.id,
		);
		expect(firsts).toEqual(["b", "c", "b", "c"]);
	});
});

describe("patterns", () => {
	it.each([
		["*@gmail.com", "Ada@Gmail.com", true],
		["*@gmail.com", "ada@gmail.com.evil.test", false],
		["gmail.com", "ada@gmail.com", true],
		["*.example.com", "mail.example.com", true],
		["*.example.com", "example.com", false],
		["ops@*", "ops@anything.test", true],
	])("%s matches %s: %s", (pattern, value, expected) => expect(matchesPattern(pattern, value)).toBe(expected));
});
