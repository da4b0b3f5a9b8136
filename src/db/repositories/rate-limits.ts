// Rate limits and the queue settings the WorkspaceLimiter needs, in D1 (the system of record). The
// limiter loads both with one D1 batch when it has no configuration or its copy is old.
// The row shapes are declared here, the layer below the domain; the domain's LimitDef and
// LimiterConfig (src/domain/rate-limits/model.ts) have the same shape.
import { newId } from "../../lib/ids";
import { count } from "../../lib/metrics";

export type LimitRow = {
	scope: "workspace" | "sender" | "api_key";
	key: string | null;
	window: "second" | "minute" | "hour" | "day";
	limit: number;
	kind: "soft" | "hard";
};

export type StoredLimiterConfig = {
	limits: LimitRow[];
	queues: { id: string; priority: number; ratePerMinute: number | null }[];
};

/** Replaces the workspace's limits in one transaction. */
export async function replaceLimits(db: D1Database, workspaceId: string, limits: readonly LimitRow[]): Promise<void> {
	await db.batch([
		db.prepare("DELETE FROM rate_limits WHERE workspace_id = ?").bind(workspaceId),
		db
			.prepare(
				`INSERT INTO rate_limits (id, workspace_id, scope, key, window, "limit", kind)
				 SELECT json_extract(value,'$.id'), ?1, json_extract(value,'$.scope'), json_extract(value,'$.key'),
				   json_extract(value,'$.window'), json_extract(value,'$.limit'), json_extract(value,'$.kind')
				 FROM json_each(?2)`,
			)
			.bind(workspaceId, JSON.stringify(limits.map((l) => ({ ...l, id: newId("rl") })))),
	]);
	count("d1_write_batches_total");
}

export async function readLimiterConfig(db: D1Database, workspaceId: string): Promise<StoredLimiterConfig> {
	const [limits, queues] = await db.batch([
		db
			.prepare(`SELECT scope, key, window, "limit", kind FROM rate_limits WHERE workspace_id = ? ORDER BY rowid`)
			.bind(workspaceId),
		db.prepare("SELECT id, priority, rate_per_minute FROM queues WHERE workspace_id = ?").bind(workspaceId),
	]);
	return {
		limits: ((limits?.results ?? []) as LimitRow[]).map((r) => ({ ...r })),
		queues: ((queues?.results ?? []) as { id: string; priority: number; rate_per_minute: number | null }[]).map(
			(q) => ({
				id: q.id,
				priority: q.priority,
				ratePerMinute: q.rate_per_minute,
			}),
		),
	};
}

export type PlatformLimitRow = { window: LimitRow["window"]; limit: number; kind: LimitRow["kind"] };

/** Replaces the platform's (global) limits in one transaction. */
export async function replacePlatformLimits(db: D1Database, limits: readonly PlatformLimitRow[]): Promise<void> {
	await db.batch([
		db.prepare("DELETE FROM platform_rate_limits"),
		db
			.prepare(
				`INSERT INTO platform_rate_limits (id, window, "limit", kind)
				 SELECT json_extract(value,'$.id'), json_extract(value,'$.window'), json_extract(value,'$.limit'),
				   json_extract(value,'$.kind')
				 FROM json_each(?1)`,
			)
			.bind(JSON.stringify(limits.map((l) => ({ ...l, id: newId("rl") })))),
	]);
	count("d1_write_batches_total");
}

export async function readPlatformLimits(db: D1Database): Promise<PlatformLimitRow[]> {
	const rows = await db.prepare(`SELECT window, "limit", kind FROM platform_rate_limits ORDER BY rowid`).all();
	return (rows.results as PlatformLimitRow[]).map((r) => ({ window: r.window, limit: r.limit, kind: r.kind }));
}

/**
 * Messages of the workspace sent since `since`, per From address (GET /api/rate-limit). The id bound
 * (message ids are ULIDs, and mail is sent within its 72 h maximum age) keeps the scan on the
 * (workspace_id, status, id) index to recent mail.
 */
export async function sentSinceBySender(
	db: D1Database,
	workspaceId: string,
	since: number,
	createdAfterId: string,
): Promise<{ sender: string; sent: number }[]> {
	const rows = await db
		.prepare(
			`SELECT lower(from_email) AS sender, COUNT(*) AS sent FROM messages
			 WHERE workspace_id = ?1 AND status = 'sent' AND id >= ?2 AND sent_at >= ?3
			 GROUP BY lower(from_email) ORDER BY sent DESC, sender LIMIT 1000`,
		)
		.bind(workspaceId, createdAfterId, since)
		.all<{ sender: string; sent: number }>();
	return rows.results;
}
