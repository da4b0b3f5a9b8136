// Configured delivery gateways in D1. Credentials arrive here already sealed; this module never
// sees them in clear.
import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "../client";
import { gateways } from "../schema";

export type GatewayRecord = typeof gateways.$inferSelect;
export type GatewayChanges = Partial<
	Pick<
		GatewayRecord,
		| "name"
		| "enabled"
		| "priority"
		| "weight"
		| "config"
		| "credentialsEnc"
		| "ratePerSecond"
		| "ratePerMinute"
		| "ratePerHour"
		| "ratePerDay"
		| "canRoute"
		| "excludePatterns"
		| "isLegacy"
	>
>;

/** Inserts the gateway, or returns null when the workspace already has one of that name. */
export async function insertGateway(db: Db, row: typeof gateways.$inferInsert): Promise<GatewayRecord | null> {
	const [created] = await db.insert(gateways).values(row).onConflictDoNothing().returning();
	return created ?? null;
}

/** In routing order: lowest priority number first. */
export function listGateways(db: Db, workspaceId: string): Promise<GatewayRecord[]> {
	return db
		.select()
		.from(gateways)
		.where(eq(gateways.workspaceId, workspaceId))
		.orderBy(asc(gateways.priority), asc(gateways.createdAt), asc(gateways.id));
}

export async function findGateway(db: Db, workspaceId: string, id: string): Promise<GatewayRecord | null> {
	const [row] = await db
		.select()
		.from(gateways)
		.where(and(eq(gateways.workspaceId, workspaceId), eq(gateways.id, id)));
	return row ?? null;
}

/** Applies the changes; "missing" when there is no such gateway, "conflict" when the name is taken. */
export async function updateGateway(
	db: Db,
	workspaceId: string,
	id: string,
	changes: GatewayChanges,
	now = Date.now(),
): Promise<GatewayRecord | "missing" | "conflict"> {
	try {
		const [row] = await db
			.update(gateways)
			.set({ ...changes, updatedAt: now })
			.where(and(eq(gateways.workspaceId, workspaceId), eq(gateways.id, id)))
			.returning();
		return row ?? "missing";
	} catch (error) {
		if (String(error).includes("UNIQUE constraint failed")) return "conflict";
		throw error;
	}
}

export async function deleteGateway(db: Db, workspaceId: string, id: string): Promise<boolean> {
	const rows = await db
		.delete(gateways)
		.where(and(eq(gateways.workspaceId, workspaceId), eq(gateways.id, id)))
		.returning({ id: gateways.id });
	return rows.length > 0;
}

/**
 * Records one health check. A success marks the gateway healthy and clears its failure count; a
 * failure adds one and marks it unhealthy once `unhealthyAfter` checks in a row have failed (until
 * then the status stays what it was). SET expressions read the row as it was before the update.
 */
export async function recordHealth(
	db: Db,
	workspaceId: string,
	id: string,
	healthy: boolean,
	now = Date.now(),
	unhealthyAfter = 1,
): Promise<void> {
	await db
		.update(gateways)
		.set(healthChange(healthy, now, unhealthyAfter))
		.where(and(eq(gateways.workspaceId, workspaceId), eq(gateways.id, id)));
}

function healthChange(healthy: boolean, now: number, unhealthyAfter: number) {
	if (healthy) return { healthStatus: "healthy" as const, healthFailures: 0, lastHealthCheckAt: now };
	return {
		healthFailures: sql`${gateways.healthFailures} + 1`,
		healthStatus: sql`CASE WHEN ${gateways.healthFailures} + 1 >= ${unhealthyAfter} THEN 'unhealthy' ELSE ${gateways.healthStatus} END`,
		lastHealthCheckAt: now,
	};
}

export type HealthResult = { workspaceId: string; id: string; healthy: boolean; unhealthyAfter: number };

/** Records many checks in one D1 transaction; returns the ids now unhealthy that were not before. */
export async function recordHealthResults(db: Db, results: HealthResult[], now: number): Promise<string[]> {
	const [first, ...rest] = results.map((r) =>
		db
			.update(gateways)
			.set(healthChange(r.healthy, now, r.unhealthyAfter))
			.where(and(eq(gateways.workspaceId, r.workspaceId), eq(gateways.id, r.id)))
			.returning({ id: gateways.id, healthStatus: gateways.healthStatus, healthFailures: gateways.healthFailures }),
	);
	if (!first) return [];
	const written = await db.batch([first, ...rest]);
	return written
		.flat()
		.filter(
			(row) =>
				row.healthStatus === "unhealthy" && row.healthFailures === results.find((r) => r.id === row.id)?.unhealthyAfter,
		)
		.map((row) => row.id);
}

/**
 * Enabled gateways whose last health check is older than their interval (`config.health_check_interval_seconds`,
 * else `defaultIntervalSeconds`), never-checked first, then oldest first: the index gateways_health_due (enabled,
 * last_health_check_at) gives that order, so a run stops after `limit` due rows.
 */
export function dueForHealthCheck(db: Db, now: number, limit: number, defaultIntervalSeconds: number) {
	return db
		.select()
		.from(gateways)
		.where(
			and(
				eq(gateways.enabled, true),
				sql`(${gateways.lastHealthCheckAt} IS NULL OR ${gateways.lastHealthCheckAt} <= ${now} - COALESCE(json_extract(${gateways.config}, '$.health_check_interval_seconds'), ${defaultIntervalSeconds}) * 1000)`,
			),
		)
		.orderBy(asc(gateways.lastHealthCheckAt))
		.limit(limit);
}
