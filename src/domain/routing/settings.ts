// A workspace's routing settings (PUT/GET /v1/routing, docs/routing.md "Modes", "Strategies"): the
// mode in workspaces.routing_mode, the strategy and the `failover` strategy's order in
// settings.routing, read back by the consumer through delivery/gateways.ts `settingsOf`.
import type { Db } from "../../db/client";
import { findRouting, ownGatewayIds, writeRouting } from "../../db/repositories/routing";
import { ApiError, err, ok, type Result } from "../../errors";
import { settingsOf } from "../delivery/gateways";
import type { RoutingMode, Strategy } from "./router";

export type RoutingView = { mode: RoutingMode; strategy: Strategy; failover_order: string[] };
export type RoutingInput = { mode: RoutingMode; strategy: Strategy; failover_order?: string[] | undefined };

/** Ok when every id names a gateway of the workspace; else a 422 naming the first that does not. */
export async function checkGatewayIds(
	db: Db,
	workspaceId: string,
	ids: readonly string[],
	field: string,
): Promise<Result<void>> {
	const own = await ownGatewayIds(db, workspaceId, ids);
	const index = ids.findIndex((id) => !own.has(id));
	const bad = ids[index];
	if (bad === undefined) return ok(undefined);
	// The same answer for a missing gateway and another workspace's: ids of others are not disclosed.
	return err(
		new ApiError("validation_error", `${field}.${index}: no gateway ${bad} in this workspace`, [
			{ path: `${field}.${index}`, message: `no gateway ${bad} in this workspace` },
		]),
	);
}

function view(mode: RoutingMode, settings: Record<string, unknown>): RoutingView {
	const parsed = settingsOf(mode, JSON.stringify(settings));
	return { mode, strategy: parsed.strategy, failover_order: [...parsed.failoverOrder] };
}

export async function routingOf(db: Db, workspaceId: string): Promise<RoutingView | null> {
	const row = await findRouting(db, workspaceId);
	return row ? view(row.routingMode, row.settings) : null;
}

export async function putRouting(db: Db, workspaceId: string, input: RoutingInput): Promise<Result<RoutingView>> {
	const order = input.failover_order ?? [];
	const checked = await checkGatewayIds(db, workspaceId, order, "failover_order");
	if (!checked.ok) return checked;
	const row = await writeRouting(
		db,
		workspaceId,
		input.mode,
		{ strategy: input.strategy, failover_order: order },
		Date.now(),
	);
	if (!row) return err(new ApiError("not_found", "No such workspace."));
	return ok(view(row.routingMode, row.settings));
}
