// A workspace's routing configuration in D1: its mode (workspaces.routing_mode), its strategy and
// failover order (workspaces.settings.routing) and its routing rules, in the shapes
// src/domain/delivery/gateways.ts reads them back for the router.
import { and, asc, eq, inArray, ne, sql } from "drizzle-orm";
import type { Db } from "../client";
import { gateways, routingRules, workspaces } from "../schema";

export type RoutingRecord = { routingMode: "legacy" | "gateway" | "hybrid"; settings: Record<string, unknown> };
export type RuleRecord = typeof routingRules.$inferSelect;
export type RuleChanges = Partial<
	Pick<RuleRecord, "name" | "position" | "match" | "strategy" | "gatewayIds" | "enabled">
>;

export async function findRouting(db: Db, workspaceId: string): Promise<RoutingRecord | null> {
	const [row] = await db
		.select({ routingMode: workspaces.routingMode, settings: workspaces.settings })
		.from(workspaces)
		.where(eq(workspaces.id, workspaceId));
	return row ?? null;
}

/** Sets the mode and `settings.routing` in one statement; json_set keeps every other settings key. */
export async function writeRouting(
	db: Db,
	workspaceId: string,
	mode: RoutingRecord["routingMode"],
	routing: { strategy: string; failover_order: string[] },
	now: number,
): Promise<RoutingRecord | null> {
	const [row] = await db
		.update(workspaces)
		.set({
			routingMode: mode,
			settings: sql`json_set(coalesce(${workspaces.settings}, '{}'), '$.routing', json(${JSON.stringify(routing)}))`,
			updatedAt: now,
		})
		.where(eq(workspaces.id, workspaceId))
		.returning({ routingMode: workspaces.routingMode, settings: workspaces.settings });
	return row ?? null;
}

/** Which of `ids` are gateways of the workspace. */
export async function ownGatewayIds(db: Db, workspaceId: string, ids: readonly string[]): Promise<Set<string>> {
	if (ids.length === 0) return new Set();
	const rows = await db
		.select({ id: gateways.id })
		.from(gateways)
		.where(and(eq(gateways.workspaceId, workspaceId), inArray(gateways.id, [...ids])));
	return new Set(rows.map((r) => r.id));
}

/** Clears `is_legacy` on the workspace's other gateways: at most one legacy gateway per workspace. */
export async function clearOtherLegacy(db: Db, workspaceId: string, keepId: string, now: number): Promise<void> {
	await db
		.update(gateways)
		.set({ isLegacy: false, updatedAt: now })
		.where(and(eq(gateways.workspaceId, workspaceId), ne(gateways.id, keepId), eq(gateways.isLegacy, true)));
}

export async function insertRule(db: Db, row: typeof routingRules.$inferInsert): Promise<RuleRecord> {
	const [created] = await db.insert(routingRules).values(row).returning();
	if (!created) throw new Error("routing rule insert returned no row");
	return created;
}

/** The workspace's own rules (not a named queue's), in the order the router tries them. */
export function listRules(db: Db, workspaceId: string): Promise<RuleRecord[]> {
	return db
		.select()
		.from(routingRules)
		.where(eq(routingRules.workspaceId, workspaceId))
		.orderBy(asc(routingRules.position), asc(routingRules.id));
}

export async function findRule(db: Db, workspaceId: string, id: string): Promise<RuleRecord | null> {
	const [row] = await db
		.select()
		.from(routingRules)
		.where(and(eq(routingRules.workspaceId, workspaceId), eq(routingRules.id, id)));
	return row ?? null;
}

export async function updateRule(
	db: Db,
	workspaceId: string,
	id: string,
	changes: RuleChanges,
	now: number,
): Promise<RuleRecord | null> {
	const [row] = await db
		.update(routingRules)
		.set({ ...changes, updatedAt: now })
		.where(and(eq(routingRules.workspaceId, workspaceId), eq(routingRules.id, id)))
		.returning();
	return row ?? null;
}

export async function deleteRule(db: Db, workspaceId: string, id: string): Promise<boolean> {
	const rows = await db
		.delete(routingRules)
		.where(and(eq(routingRules.workspaceId, workspaceId), eq(routingRules.id, id)))
		.returning({ id: routingRules.id });
	return rows.length > 0;
}
