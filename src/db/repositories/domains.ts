// Sending domains in D1.
import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../client";
import { domains } from "../schema";

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
