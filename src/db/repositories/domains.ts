// Sending domains in D1.
import { and, asc, desc, eq, isNotNull, lte } from "drizzle-orm";
import type { Db } from "../client";
import { domains, events, type GatewayType, gateways } from "../schema";

export type DomainRecord = typeof domains.$inferSelect;

/** Inserts the domain, or returns null when the workspace already has it. */
export async function insertDomain(db: Db, row: typeof domains.$inferInsert): Promise<DomainRecord | null> {
	const [created] = await db.insert(domains).values(row).onConflictDoNothing().returning();
	return created ?? null;
}

export function listDomains(db: Db, workspaceId: string): Promise<DomainRecord[]> {
	return db
		.select()
		.from(domains)
		.where(eq(domains.workspaceId, workspaceId))
		.orderBy(desc(domains.createdAt), desc(domains.id));
}

export async function findDomain(db: Db, workspaceId: string, id: string): Promise<DomainRecord | null> {
	const [row] = await db
		.select()
		.from(domains)
		.where(and(eq(domains.workspaceId, workspaceId), eq(domains.id, id)));
	return row ?? null;
}

export async function deleteDomain(db: Db, workspaceId: string, id: string): Promise<boolean> {
	const rows = await db
		.delete(domains)
		.where(and(eq(domains.workspaceId, workspaceId), eq(domains.id, id)))
		.returning({ id: domains.id });
	return rows.length > 0;
}

/** The domain of this name in the workspace. */
export async function findDomainByName(db: Db, workspaceId: string, name: string): Promise<DomainRecord | null> {
	const [row] = await db
		.select()
		.from(domains)
		.where(and(eq(domains.workspaceId, workspaceId), eq(domains.name, name)));
	return row ?? null;
}

/** Domains whose next check is due, oldest due first, through the `domains_due` index. */
export function findDueDomains(db: Db, now: number, limit: number): Promise<DomainRecord[]> {
	return db
		.select()
		.from(domains)
		.where(and(isNotNull(domains.nextCheckAt), lte(domains.nextCheckAt, now)))
		.orderBy(asc(domains.nextCheckAt))
		.limit(limit);
}

/** Types of the workspace's enabled gateways (for the SPF record). */
export async function enabledGatewayTypes(db: Db, workspaceId: string): Promise<GatewayType[]> {
	const rows = await db
		.selectDistinct({ type: gateways.type })
		.from(gateways)
		.where(and(eq(gateways.workspaceId, workspaceId), eq(gateways.enabled, true)));
	return rows.map((r) => r.type);
}

export type DomainUpdate = {
	id: string;
	changes: Partial<Omit<DomainRecord, "id" | "workspaceId" | "name" | "createdAt">>;
	/** Written in the same transaction as the change it reports. */
	event?: typeof events.$inferInsert;
};

/** Applies every update, and the events they report, in one D1 batch; returns the rows as written. */
export async function saveDomainUpdates(db: Db, updates: readonly DomainUpdate[]): Promise<DomainRecord[]> {
	const [first, ...rest] = updates.map((u) =>
		db.update(domains).set(u.changes).where(eq(domains.id, u.id)).returning(),
	);
	if (!first) return [];
	const eventRows = updates.flatMap((u) => (u.event ? [u.event] : []));
	const inserts = eventRows.length > 0 ? [db.insert(events).values(eventRows).onConflictDoNothing()] : [];
	const results = await db.batch([first, ...rest, ...inserts]);
	return results.slice(0, updates.length).flatMap((rows) => rows as DomainRecord[]);
}
