// The gateways of a consumer batch: which may deliver each recipient (the router over the claim's
// gateways, settings and rules), and their drivers, built once per batch from decrypted credentials
// and config. Test keys and sandbox workspaces always capture in the sandbox, whatever is configured.
import type { ClaimResult, GatewayRow, RuleRow } from "../../db/repositories/delivery";
import { decryptSecret } from "../../lib/crypto";
import { buildGateway } from "../../providers/registry";
import { SANDBOX_GATEWAY_ID, sandboxGateway } from "../../providers/sandbox";
import type { DriverContext, Gateway } from "../../providers/types";
import {
	type RoutableGateway,
	type RouteRequest,
	type RouterState,
	type RoutingRule,
	type RoutingSettings,
	route,
	STRATEGIES,
	type Strategy,
} from "../routing/router";

export type GatewayDeps = DriverContext & {
	encryptionKey: string;
	/** Longest one delivery call may take before it counts as a temporary failure. */
	timeoutMs: number;
};

export type DriverChoice = { ok: true; gateway: Gateway } | { ok: false; reason: string };

const parseList = (json: string): string[] => {
	const value = JSON.parse(json) as unknown;
	return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
};

const asStrategy = (value: unknown): Strategy | null =>
	typeof value === "string" && (STRATEGIES as readonly string[]).includes(value) ? (value as Strategy) : null;

function routable(row: GatewayRow): RoutableGateway {
	const config = JSON.parse(row.config) as Record<string, unknown>;
	return {
		id: row.id,
		type: row.type,
		priority: row.priority,
		weight: row.weight,
		isLegacy: row.is_legacy === 1,
		healthy: row.health_status !== "unhealthy",
		canRoute: parseList(row.can_route),
		excludePatterns: parseList(row.exclude_patterns),
		failoverTo: Array.isArray(config.failover_to) ? config.failover_to.filter((v) => typeof v === "string") : [],
	};
}

function ruleOf(row: RuleRow): RoutingRule {
	return {
		id: row.id,
		position: row.position,
		match: JSON.parse(row.match) as RoutingRule["match"],
		strategy: asStrategy(row.strategy),
		gatewayIds: parseList(row.gateway_ids),
	};
}

/** A workspace's routing settings from its row (mode column, `settings.routing`). */
export function settingsOf(mode: RoutingSettings["mode"], settingsJson: string): RoutingSettings {
	const settings = JSON.parse(settingsJson) as { routing?: { strategy?: unknown; failover_order?: unknown } };
	const order = settings.routing?.failover_order;
	return {
		mode,
		strategy: asStrategy(settings.routing?.strategy) ?? "priority",
		failoverOrder: Array.isArray(order) ? order.filter((v): v is string => typeof v === "string") : [],
	};
}

// Round-robin positions live in the isolate: exact within one, approximately even across many.
const turns = new Map<string, number>();
const MAX_TURN_KEYS = 10_000;

export const isolateRouterState: RouterState = {
	random: Math.random,
	nextTurn: (key) => {
		const n = turns.get(key) ?? 0;
		if (turns.size >= MAX_TURN_KEYS && !turns.has(key)) turns.clear();
		turns.set(key, n + 1);
		return n;
	},
	loadOf: () => 0,
};

export class GatewayPlan {
	private readonly built = new Map<string, Promise<DriverChoice>>();
	private readonly rows: Map<string, GatewayRow>;
	private readonly routables = new Map<string, RoutableGateway[]>();
	private readonly settings = new Map<string, RoutingSettings>();
	/** Rules by workspace, each with the queue it is limited to (null: every queue). */
	private readonly rules = new Map<string, (RoutingRule & { queueId: string | null })[]>();
	private readonly queues: ClaimResult["queues"];

	constructor(
		claim: Pick<ClaimResult, "gateways" | "workspaces" | "rules" | "queues">,
		private readonly deps: GatewayDeps,
		private readonly state: RouterState = isolateRouterState,
	) {
		this.rows = new Map(claim.gateways.map((g) => [g.id, g]));
		for (const g of claim.gateways) {
			const list = this.routables.get(g.workspace_id) ?? [];
			list.push(routable(g));
			this.routables.set(g.workspace_id, list);
		}
		for (const w of claim.workspaces) this.settings.set(w.id, settingsOf(w.routing_mode, w.settings));
		this.queues = claim.queues;
		for (const r of claim.rules) {
			const list = this.rules.get(r.workspace_id) ?? [];
			list.push({ ...ruleOf(r), queueId: r.queue_id });
			this.rules.set(r.workspace_id, list);
		}
	}

	/** True when the workspace has at least one enabled gateway. */
	hasGateways(workspaceId: string): boolean {
		return (this.routables.get(workspaceId)?.length ?? 0) > 0;
	}

	/**
	 * Gateway ids to try for one recipient, best first. A message of a named queue follows that
	 * queue's strategy when it sets one, and its rules as well as the workspace-wide ones.
	 */
	candidates(workspaceId: string, request: RouteRequest, queueId: string | null = null): string[] {
		const settings = this.settings.get(workspaceId) ?? settingsOf("gateway", "{}");
		const rules = (this.rules.get(workspaceId) ?? []).filter((r) => r.queueId === null || r.queueId === queueId);
		const queueStrategy = queueId ? asStrategy(this.queues.get(queueId)?.strategy) : null;
		return route(
			{ ...request, queueStrategy: request.queueStrategy ?? queueStrategy },
			settings,
			rules,
			this.routables.get(workspaceId) ?? [],
			this.state,
		).map((g) => g.id);
	}

	/** The gateway a test key or sandbox workspace's message goes to (its sandbox row, or the built-in one). */
	sandboxId(workspaceId: string): string {
		return (
			[...this.rows.values()].find((g) => g.workspace_id === workspaceId && g.type === "sandbox")?.id ??
			SANDBOX_GATEWAY_ID
		);
	}

	driver(gatewayId: string): Promise<DriverChoice> {
		if (gatewayId === SANDBOX_GATEWAY_ID)
			return Promise.resolve({ ok: true, gateway: sandboxGateway(this.deps.bodies) });
		let choice = this.built.get(gatewayId);
		if (!choice) {
			choice = this.build(gatewayId);
			this.built.set(gatewayId, choice);
		}
		return choice;
	}

	row(gatewayId: string): GatewayRow | undefined {
		return this.rows.get(gatewayId);
	}

	private async build(gatewayId: string): Promise<DriverChoice> {
		const row = this.rows.get(gatewayId);
		if (!row) return { ok: false, reason: "the gateway is not enabled" };
		let credentials: Record<string, unknown> = {};
		try {
			if (row.credentials_enc) {
				credentials = JSON.parse(await decryptSecret(this.deps.encryptionKey, row.credentials_enc)) as Record<
					string,
					unknown
				>;
			}
		} catch {
			return { ok: false, reason: "the gateway's credentials cannot be decrypted" };
		}
		const config = JSON.parse(row.config) as Record<string, unknown>;
		const built = buildGateway({ id: row.id, type: row.type, config, credentials }, this.deps);
		if ("error" in built) return { ok: false, reason: built.error };
		return { ok: true, gateway: built };
	}
}
