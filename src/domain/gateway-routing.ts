// A gateway's routing fields (docs/routing.md "Failover", "Modes"): `can_route` and `exclude_patterns`
// in their columns, `failover_to` in `config.failover_to` (kept from the driver by RELAY_CONFIG_KEYS),
// `legacy` in `is_legacy`. Split from gateways.ts, which applies them on create and patch.
import type { Db } from "../db/client";
import type { GatewayChanges } from "../db/repositories/gateways";
import { ApiError, err, ok, type Result } from "../errors";
import type { GatewayPatch } from "./gateways";
import { checkGatewayIds } from "./routing/settings";

/** `config` with `failover_to` set (an empty list removes it); absent leaves it as it is. */
export function withFailover(
	config: Record<string, unknown>,
	failoverTo: string[] | undefined,
): Record<string, unknown> {
	if (failoverTo === undefined) return config;
	const { failover_to: _old, ...rest } = config;
	return failoverTo.length > 0 ? { ...rest, failover_to: failoverTo } : rest;
}

export type RoutingColumns = Pick<GatewayChanges, "canRoute" | "excludePatterns" | "isLegacy">;

/** The routing columns a request sets, once its `failover_to` names only other gateways of the workspace. */
export async function routingFields(
	db: Db,
	workspaceId: string,
	selfId: string | null,
	input: GatewayPatch,
): Promise<Result<RoutingColumns>> {
	if (input.failover_to !== undefined) {
		const self = input.failover_to.indexOf(selfId ?? "");
		if (selfId !== null && self >= 0) {
			const path = `failover_to.${self}`;
			return err(
				new ApiError("validation_error", `${path}: a gateway cannot fail over to itself`, [
					{ path, message: "a gateway cannot fail over to itself" },
				]),
			);
		}
		const checked = await checkGatewayIds(db, workspaceId, input.failover_to, "failover_to");
		if (!checked.ok) return checked;
	}
	const columns: RoutingColumns = {};
	if (input.can_route !== undefined) columns.canRoute = input.can_route;
	if (input.exclude_patterns !== undefined) columns.excludePatterns = input.exclude_patterns;
	if (input.legacy !== undefined) columns.isLegacy = input.legacy;
	return ok(columns);
}
