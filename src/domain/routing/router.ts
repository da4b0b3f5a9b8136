// Which gateways may deliver a recipient, in the order to try them (DESIGN.md "Routing"): the
// workspace's mode and strategy, the first matching routing rule, each gateway's `can_route` /
// `exclude_patterns` / health, then each gateway's own `failover_to`. The first of the list is the
// choice; the rest are the failover order within the same attempt. Pure: the consumer supplies the
// breaker and load figures it knows.
import { domainOf } from "../../lib/address";
import { matchesAny, matchesPattern } from "./patterns";

export const ROUTING_MODES = ["legacy", "gateway", "hybrid"] as const;
export const STRATEGIES = ["priority", "round_robin", "weighted", "least_loaded", "domain", "failover"] as const;
export type RoutingMode = (typeof ROUTING_MODES)[number];
export type Strategy = (typeof STRATEGIES)[number];

export type RoutableGateway = {
	id: string;
	type: string;
	priority: number;
	weight: number;
	isLegacy: boolean;
	healthy: boolean;
	canRoute: readonly string[];
	excludePatterns: readonly string[];
	failoverTo: readonly string[];
};

export type RuleMatch = {
	senderDomain?: string | undefined;
	recipientDomain?: string | undefined;
	tag?: string | undefined;
	header?: { name: string; value: string } | undefined;
};

export type RoutingRule = {
	id: string;
	position: number;
	match: RuleMatch;
	strategy: Strategy | null;
	gatewayIds: string[];
};

export type RoutingSettings = {
	mode: RoutingMode;
	strategy: Strategy;
	/** The `failover` strategy's order (gateway ids); others follow by priority. */
	failoverOrder: readonly string[];
};

export type RouteRequest = {
	fromEmail: string;
	recipient: string;
	tags: readonly string[];
	headers: Readonly<Record<string, string>>;
	/** A named queue's strategy, when the message's queue sets one (it beats the workspace's). */
	queueStrategy?: Strategy | null | undefined;
};

/** What the router may consult beyond the rows: randomness, rotation and live load. */
export type RouterState = {
	random: () => number;
	/** Next round-robin position for a key (a workspace and its candidate set). */
	nextTurn: (key: string) => number;
	/** Current load of a gateway (in flight, or a failure-weighted score); lower is better. */
	loadOf: (gatewayId: string) => number;
};

function ruleMatches(rule: RoutingRule, req: RouteRequest): boolean {
	const m = rule.match;
	if (m.senderDomain && !matchesPattern(m.senderDomain, domainOf(req.fromEmail))) return false;
	if (m.recipientDomain && !matchesPattern(m.recipientDomain, domainOf(req.recipient))) return false;
	if (m.tag && !req.tags.includes(m.tag)) return false;
	if (m.header) {
		const wanted = m.header.name.toLowerCase();
		const found = Object.entries(req.headers).find(([name]) => name.toLowerCase() === wanted);
		if (!found || found[1] !== m.header.value) return false;
	}
	return true;
}

const byPriority = (a: RoutableGateway, b: RoutableGateway) => a.priority - b.priority || a.id.localeCompare(b.id);

function admits(g: RoutableGateway, recipient: string): boolean {
	if (!g.healthy) return false;
	if (g.canRoute.length > 0 && !matchesAny(g.canRoute, recipient)) return false;
	return !matchesAny(g.excludePatterns, recipient);
}

function order(
	strategy: Strategy,
	pool: RoutableGateway[],
	req: RouteRequest,
	settings: RoutingSettings,
	state: RouterState,
) {
	const sorted = [...pool].sort(byPriority);
	switch (strategy) {
		case "priority":
			return sorted;
		case "round_robin": {
			if (sorted.length === 0) return sorted;
			const turn = state.nextTurn(sorted.map((g) => g.id).join(",")) % sorted.length;
			return [...sorted.slice(turn), ...sorted.slice(0, turn)];
		}
		case "weighted": {
			const total = sorted.reduce((sum, g) => sum + Math.max(0, g.weight), 0);
			if (total <= 0) return sorted;
			const pick = state.random() * total;
			let acc = 0;
			const chosen =
				sorted.find((g) => {
					acc += Math.max(0, g.weight);
					return pick < acc;
				}) ?? sorted[sorted.length - 1];
			return chosen ? [chosen, ...sorted.filter((g) => g !== chosen)] : sorted;
		}
		case "least_loaded":
			return sorted.sort((a, b) => state.loadOf(a.id) - state.loadOf(b.id) || byPriority(a, b));
		case "domain": {
			// Gateways that name the recipient explicitly come first; catch-all gateways after them.
			const explicit = sorted.filter((g) => g.canRoute.length > 0 && matchesAny(g.canRoute, req.recipient));
			return [...explicit, ...sorted.filter((g) => !explicit.includes(g))];
		}
		case "failover": {
			const rank = (g: RoutableGateway) => {
				const i = settings.failoverOrder.indexOf(g.id);
				return i < 0 ? Number.MAX_SAFE_INTEGER : i;
			};
			return sorted.sort((a, b) => rank(a) - rank(b) || byPriority(a, b));
		}
	}
}

/** Appends each chosen gateway's `failover_to` chain (eligible ones not yet listed), depth-first. */
function withFailoverChains(
	list: RoutableGateway[],
	all: ReadonlyMap<string, RoutableGateway>,
	eligible: (g: RoutableGateway) => boolean,
) {
	const out: RoutableGateway[] = [];
	const visit = (g: RoutableGateway) => {
		if (out.includes(g)) return;
		out.push(g);
		for (const next of g.failoverTo) {
			const target = all.get(next);
			if (target && eligible(target)) visit(target);
		}
	};
	for (const g of list) visit(g);
	return out;
}

/** The gateways to try for one recipient, best first; empty when none is eligible. */
export function route(
	req: RouteRequest,
	settings: RoutingSettings,
	rules: readonly RoutingRule[],
	gateways: readonly RoutableGateway[],
	state: RouterState,
): RoutableGateway[] {
	const eligible = (g: RoutableGateway) => admits(g, req.recipient);
	const legacy = gateways.filter((g) => g.isLegacy && eligible(g)).sort(byPriority);
	if (settings.mode === "legacy") return legacy.slice(0, 1);
	const rule = [...rules].sort((a, b) => a.position - b.position).find((r) => ruleMatches(r, req));
	const byId = new Map(gateways.map((g) => [g.id, g]));
	let pool = gateways.filter(eligible);
	if (rule && rule.gatewayIds.length > 0) {
		// A rule that pins gateways restricts the pool to them, in the rule's order unless it names a strategy.
		const pinned = rule.gatewayIds.flatMap((id) => {
			const g = byId.get(id);
			return g && eligible(g) ? [g] : [];
		});
		pool = pinned;
		if (!rule.strategy) {
			const list = withFailoverChains(pinned, byId, eligible);
			return settings.mode === "hybrid" && list.length === 0 ? legacy.slice(0, 1) : list;
		}
	}
	const strategy = rule?.strategy ?? req.queueStrategy ?? settings.strategy;
	const list = withFailoverChains(order(strategy, pool, req, settings, state), byId, eligible);
	if (settings.mode === "hybrid") {
		const fallback = legacy.filter((g) => !list.includes(g));
		return [...list, ...fallback.slice(0, 1)];
	}
	return list;
}
