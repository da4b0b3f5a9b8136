// Configured delivery gateways in D1. Credentials arrive here already sealed; this module never
// sees them in clear.
import { and, asc, eq } from "drizzle-orm";
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

export async function recordHealth(
	db: Db,
	workspaceId: string,
	id: string,
	healthy: boolean,
	now = Date.now(),
): Promise<void> {
	await db
		.update(gateways)
		.set({ healthStatus: healthy ? "healthy" : "unhealthy", lastHealthCheckAt: now })
		.where(and(eq(gateways.workspaceId, workspaceId), eq(gateways.id, id)));
}
