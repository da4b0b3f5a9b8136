// The suppression lists' D1 access (docs/suppressions.md): a workspace's (`suppressions`) and the
// platform's (`platform_suppressions`), the same operations on either. Emails are stored lower-case;
// a bulk add is one statement over a JSON parameter. The send-time check lives in ./delivery.ts.
import type { SuppressionReason } from "../schema";

/** Whose list: a workspace's, or the platform's (null). */
export type ListOwner = { workspaceId: string | null };

export type SuppressionRecord = {
	id: string;
	email: string;
	reason: SuppressionReason;
	source_message_id: string | null;
	expires_at: number | null;
	created_at: number;
};

export type NewSuppression = { id: string; email: string; reason: SuppressionReason; expires_at: number | null };

export type SuppressionFilter = {
	reason?: SuppressionReason | undefined;
	/** Addresses starting with this (lower-case). */
	prefix?: string | undefined;
	/** Addresses at exactly this domain (lower-case). */
	domain?: string | undefined;
	createdFrom?: number | undefined;
	createdTo?: number | undefined;
	/** Exclusive: the last id of the previous page. */
	beforeId?: string | undefined;
};

function table(owner: ListOwner) {
	return owner.workspaceId === null
		? { name: "platform_suppressions", columns: "id, email, reason, NULL AS source_message_id, expires_at, created_at" }
		: { name: "suppressions", columns: "id, email, reason, source_message_id, expires_at, created_at" };
}

/** `AND workspace_id = ?n` for a workspace's list, nothing for the platform's; the binding it needs. */
function scoped(owner: ListOwner, param: number): { sql: string; binds: string[] } {
	return owner.workspaceId === null
		? { sql: "", binds: [] }
		: { sql: ` AND workspace_id = ?${param}`, binds: [owner.workspaceId] };
}

/** Adds or replaces entries (a new reason or expiry wins); answers the entries as stored. */
export async function upsertSuppressions(
	db: D1Database,
	owner: ListOwner,
	entries: readonly NewSuppression[],
	now: number,
): Promise<SuppressionRecord[]> {
	if (entries.length === 0) return [];
	const t = table(owner);
	const v = (name: string) => `json_extract(value,'$.${name}')`;
	const workspace = owner.workspaceId === null ? "" : "workspace_id, ";
	const conflict = owner.workspaceId === null ? "email" : "workspace_id, email";
	const { results } = await db
		.prepare(
			`INSERT INTO ${t.name} (id, ${workspace}email, reason, expires_at, created_at)
			 SELECT ${v("id")}, ${owner.workspaceId === null ? "" : "?3, "}${v("email")}, ${v("reason")}, ${v("expires_at")}, ?2
			 FROM json_each(?1) WHERE true
			 ON CONFLICT(${conflict}) DO UPDATE SET reason = excluded.reason, expires_at = excluded.expires_at
			 RETURNING ${t.columns}`,
		)
		.bind(JSON.stringify(entries), now, ...(owner.workspaceId === null ? [] : [owner.workspaceId]))
		.all<SuppressionRecord>();
	return results;
}

export async function findSuppression(
	db: D1Database,
	owner: ListOwner,
	email: string,
): Promise<SuppressionRecord | null> {
	const t = table(owner);
	const s = scoped(owner, 2);
	return db
		.prepare(`SELECT ${t.columns} FROM ${t.name} WHERE email = ?1${s.sql}`)
		.bind(email, ...s.binds)
		.first<SuppressionRecord>();
}

export async function deleteSuppression(db: D1Database, owner: ListOwner, email: string): Promise<boolean> {
	const t = table(owner);
	const s = scoped(owner, 2);
	const result = await db
		.prepare(`DELETE FROM ${t.name} WHERE email = ?1${s.sql}`)
		.bind(email, ...s.binds)
		.run();
	return result.meta.changes > 0;
}

/** Newest first (ids are ULIDs), one page and whether more follow. */
export async function listSuppressions(
	db: D1Database,
	owner: ListOwner,
	filter: SuppressionFilter,
	limit: number,
): Promise<{ rows: SuppressionRecord[]; hasMore: boolean }> {
	const t = table(owner);
	const where: string[] = [];
	const binds: (string | number)[] = [];
	const add = (sql: string, value: string | number) => {
		binds.push(value);
		where.push(sql.replace("?", `?${binds.length}`));
	};
	if (owner.workspaceId !== null) add("workspace_id = ?", owner.workspaceId);
	if (filter.reason) add("reason = ?", filter.reason);
	// A range on the address, not LIKE, so `%` and `_` in a prefix mean themselves.
	if (filter.prefix) {
		add("email >= ?", filter.prefix);
		add("email < ?", `${filter.prefix}\u{10ffff}`);
	}
	if (filter.domain) add("substr(email, instr(email, '@') + 1) = ?", filter.domain);
	if (filter.createdFrom !== undefined) add("created_at >= ?", filter.createdFrom);
	if (filter.createdTo !== undefined) add("created_at < ?", filter.createdTo);
	if (filter.beforeId) add("id < ?", filter.beforeId);
	binds.push(limit + 1);
	const { results } = await db
		.prepare(
			`SELECT ${t.columns} FROM ${t.name} ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
			 ORDER BY id DESC LIMIT ?${binds.length}`,
		)
		.bind(...binds)
		.all<SuppressionRecord>();
	return { rows: results.slice(0, limit), hasMore: results.length > limit };
}

/** PUT /v1/recipients: the suppression a status implies is added, ACTIVE removes the entry (one batch with the row). */
export function suppressionStatement(
	db: D1Database,
	workspaceId: string,
	email: string,
	change: { add: NewSuppression } | { remove: true },
	now: number,
): D1PreparedStatement {
	if ("remove" in change) {
		return db.prepare("DELETE FROM suppressions WHERE workspace_id = ?1 AND email = ?2").bind(workspaceId, email);
	}
	return db
		.prepare(
			`INSERT INTO suppressions (id, workspace_id, email, reason, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, NULL, ?5)
			 ON CONFLICT(workspace_id, email) DO UPDATE SET reason = excluded.reason, expires_at = NULL`,
		)
		.bind(change.add.id, workspaceId, email, change.add.reason, now);
}

/** The workspace's `settings.suppression` object (soft-bounce rule), or null without a workspace. */
export async function readSuppressionSettings(db: D1Database, workspaceId: string): Promise<string | null | undefined> {
	const row = await db
		.prepare("SELECT json_extract(settings, '$.suppression') AS s FROM workspaces WHERE id = ?1")
		.bind(workspaceId)
		.first<{ s: string | null }>();
	return row === null ? undefined : row.s;
}

export async function writeSuppressionSettings(
	db: D1Database,
	workspaceId: string,
	settings: Record<string, number>,
	now: number,
): Promise<boolean> {
	const result = await db
		.prepare(
			"UPDATE workspaces SET settings = json_set(settings, '$.suppression', json(?2)), updated_at = ?3 WHERE id = ?1",
		)
		.bind(workspaceId, JSON.stringify(settings), now)
		.run();
	return result.meta.changes > 0;
}
