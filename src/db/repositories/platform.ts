// Workspaces as the platform API manages them: created with their first key, listed across the
// deployment, changed and marked for deletion. Every change is written with its audit row in one D1
// batch, so the log never misses a change nor records one that did not happen.
import { and, desc, eq, isNotNull, isNull, like, lt, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../client";
import { apiKeys, auditLogs, workspaces } from "../schema";
import type { WorkspaceRecord } from "./workspaces";

export type AuditRow = typeof auditLogs.$inferInsert;
export type NewWorkspace = typeof workspaces.$inferInsert;
export type NewKey = typeof apiKeys.$inferInsert;
export type KeyRecord = typeof apiKeys.$inferSelect;

export type PlatformPatch = {
	name?: string | undefined;
	sandboxMode?: boolean | undefined;
	status?: "active" | "suspended" | undefined;
	dailyLimit?: number | null | undefined;
	monthlyLimit?: number | null | undefined;
	perSenderDailyLimit?: number | null | undefined;
};

export type WorkspaceFilter = {
	status?: "active" | "suspended" | "deleting" | undefined;
	/** Prefix of the slug or the name, case-insensitive. */
	q?: string | undefined;
	beforeId?: string | undefined;
};

const isSlugTaken = (error: unknown) =>
	error instanceof Error && /UNIQUE constraint failed: workspaces\.slug/.test(error.message);

/** Inserts the workspace, its first key and the audit row together; null when the slug is taken. */
export async function insertWorkspaceWithKey(
	db: Db,
	workspace: NewWorkspace,
	key: NewKey,
	audit: AuditRow,
): Promise<{ workspace: WorkspaceRecord; key: KeyRecord } | null> {
	try {
		const [ws, k] = await db.batch([
			db.insert(workspaces).values(workspace).returning(),
			db.insert(apiKeys).values(key).returning(),
			db.insert(auditLogs).values(audit),
		]);
		const created = ws[0];
		const createdKey = k[0];
		if (!created || !createdKey) throw new Error("workspace insert returned no row");
		return { workspace: created, key: createdKey };
	} catch (error) {
		if (isSlugTaken(error)) return null;
		throw error;
	}
}

/** By id, or by slug (slugs have no `_`, ids always do, so the two never collide in practice). */
export async function findWorkspaceByRef(db: Db, ref: string): Promise<WorkspaceRecord | null> {
	const rows = await db
		.select()
		.from(workspaces)
		.where(or(eq(workspaces.id, ref), eq(workspaces.slug, ref)))
		.limit(2);
	return rows.find((w) => w.id === ref) ?? rows[0] ?? null;
}

export async function listWorkspaces(
	db: Db,
	filter: WorkspaceFilter,
	limit: number,
): Promise<{ rows: WorkspaceRecord[]; hasMore: boolean }> {
	const conditions: SQL[] = [];
	if (filter.status === "deleting") conditions.push(isNotNull(workspaces.deletionRequestedAt));
	else if (filter.status) {
		conditions.push(eq(workspaces.status, filter.status), isNull(workspaces.deletionRequestedAt));
	}
	if (filter.q) {
		// LIKE is case-insensitive for ASCII in SQLite; the prefix's own wildcards are escaped.
		const pattern = `${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
		const prefix = or(
			like(workspaces.slug, sql`${pattern} ESCAPE '\\'`),
			like(workspaces.name, sql`${pattern} ESCAPE '\\'`),
		);
		if (prefix) conditions.push(prefix);
	}
	if (filter.beforeId) conditions.push(lt(workspaces.id, filter.beforeId));
	const rows = await db
		.select()
		.from(workspaces)
		.where(and(...conditions))
		.orderBy(desc(workspaces.id))
		.limit(limit + 1);
	return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
}

/** The audit row, written only when a workspace matches `where` (the change beside it then applied). */
function auditIf(db: Db, audit: AuditRow, where: SQL) {
	return db.insert(auditLogs).select(
		sql`SELECT ${audit.id}, ${audit.workspaceId}, 'platform', NULL, ${audit.action}, ${audit.resourceType},
			  ${audit.resourceId ?? null}, ${JSON.stringify(audit.changes ?? {})}, ${audit.ip ?? null}, ${audit.userAgent ?? null},
			  ${audit.createdAt ?? Date.now()} FROM workspaces WHERE ${where}`,
	);
}

/** Applies the patch to a workspace not being deleted; null when there is none such. */
export async function patchWorkspace(
	db: Db,
	id: string,
	patch: PlatformPatch,
	audit: AuditRow,
	now: number,
): Promise<WorkspaceRecord | null> {
	const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
	const [rows] = await db.batch([
		db
			.update(workspaces)
			.set({ ...set, updatedAt: now })
			.where(and(eq(workspaces.id, id), isNull(workspaces.deletionRequestedAt)))
			.returning(),
		auditIf(db, audit, sql`id = ${id} AND deletion_requested_at IS NULL`),
	]);
	return rows[0] ?? null;
}

/**
 * Suspends the workspace and marks it for the cron's purge; a second request keeps the first time.
 * Null when there is no such workspace.
 */
export async function markForDeletion(
	db: Db,
	id: string,
	audit: AuditRow,
	now: number,
): Promise<WorkspaceRecord | null> {
	const [rows] = await db.batch([
		db
			.update(workspaces)
			.set({
				status: "suspended",
				deletionRequestedAt: sql`COALESCE(${workspaces.deletionRequestedAt}, ${now})`,
				purge: sql`COALESCE(${workspaces.purge}, ${JSON.stringify({ rowsDeleted: 0, objectsDeleted: 0, runs: 0, lastRunAt: null })})`,
				updatedAt: now,
			})
			.where(eq(workspaces.id, id))
			.returning(),
		auditIf(db, audit, sql`id = ${id}`),
	]);
	return rows[0] ?? null;
}

export async function insertKeyWithAudit(db: Db, key: NewKey, audit: AuditRow): Promise<KeyRecord> {
	const [rows] = await db.batch([db.insert(apiKeys).values(key).returning(), db.insert(auditLogs).values(audit)]);
	const created = rows[0];
	if (!created) throw new Error("api key insert returned no row");
	return created;
}
