// The purge of a deleted workspace's rows, in bounded rounds: one D1 batch deletes at most
// PURGE_BATCH_ROWS rows of each table, children before parents, each found through an index that
// starts with the workspace (or its parent's). The workspace row goes last, once a round found
// nothing; its foreign keys then cascade whatever arrived after that round, which is little.
import type { PurgeProgress } from "../schema";

/** Tables holding a workspace's rows, each with how its rows are found; order is children first. */
export const PURGE_TABLES: Record<string, string> = {
	message_recipients:
		"SELECT r.rowid FROM messages m JOIN message_recipients r ON r.message_id = m.id WHERE m.workspace_id = ?1 LIMIT ?2",
	webhook_deliveries:
		"SELECT d.rowid FROM webhook_endpoints e JOIN webhook_deliveries d ON d.endpoint_id = e.id WHERE e.workspace_id = ?1 LIMIT ?2",
	events: "SELECT rowid FROM events WHERE workspace_id = ?1 LIMIT ?2",
	inbound_messages: "SELECT rowid FROM inbound_messages WHERE workspace_id = ?1 LIMIT ?2",
	inbound_routes: "SELECT rowid FROM inbound_routes WHERE workspace_id = ?1 LIMIT ?2",
	messages: "SELECT rowid FROM messages WHERE workspace_id = ?1 LIMIT ?2",
	routing_rules: "SELECT rowid FROM routing_rules WHERE workspace_id = ?1 LIMIT ?2",
	queues: "SELECT rowid FROM queues WHERE workspace_id = ?1 LIMIT ?2",
	rate_limits: "SELECT rowid FROM rate_limits WHERE workspace_id = ?1 LIMIT ?2",
	smtp_credentials: "SELECT rowid FROM smtp_credentials WHERE workspace_id = ?1 LIMIT ?2",
	scheduled_jobs: "SELECT rowid FROM scheduled_jobs WHERE workspace_id = ?1 LIMIT ?2",
	suppressions: "SELECT rowid FROM suppressions WHERE workspace_id = ?1 LIMIT ?2",
	recipients: "SELECT rowid FROM recipients WHERE workspace_id = ?1 LIMIT ?2",
	templates: "SELECT rowid FROM templates WHERE workspace_id = ?1 LIMIT ?2",
	webhook_endpoints: "SELECT rowid FROM webhook_endpoints WHERE workspace_id = ?1 LIMIT ?2",
	provider_webhook_tokens: "SELECT rowid FROM provider_webhook_tokens WHERE workspace_id = ?1 LIMIT ?2",
	gateways: "SELECT rowid FROM gateways WHERE workspace_id = ?1 LIMIT ?2",
	domains: "SELECT rowid FROM domains WHERE workspace_id = ?1 LIMIT ?2",
	api_keys: "SELECT rowid FROM api_keys WHERE workspace_id = ?1 LIMIT ?2",
	users: "SELECT rowid FROM users WHERE workspace_id = ?1 LIMIT ?2",
	audit_logs: "SELECT rowid FROM audit_logs WHERE workspace_id = ?1 LIMIT ?2",
	reputation_counters: "SELECT rowid FROM reputation_counters WHERE workspace_id = ?1 LIMIT ?2",
	reputation_states: "SELECT rowid FROM reputation_states WHERE workspace_id = ?1 LIMIT ?2",
};

/** Tables of the platform itself, holding no workspace's rows: a workspace's purge leaves them alone. */
export const PLATFORM_TABLES: ReadonlySet<string> = new Set(["platform_suppressions", "platform_rate_limits"]);

/** Workspaces whose deletion was requested before `cutoff`, oldest first. */
export async function workspacesToPurge(d1: D1Database, cutoff: number, limit: number): Promise<string[]> {
	const { results } = await d1
		.prepare(
			`SELECT id FROM workspaces WHERE deletion_requested_at IS NOT NULL AND deletion_requested_at <= ?1
			 ORDER BY deletion_requested_at LIMIT ?2`,
		)
		.bind(cutoff, limit)
		.all<{ id: string }>();
	return results.map((r) => r.id);
}

/**
 * One round: up to `limit` rows of each table, in one transaction; returns how many went. With
 * `finish`, the workspace row goes in the same transaction, so nothing written since the last empty
 * round outlives it.
 */
export async function purgeRound(
	d1: D1Database,
	workspaceId: string,
	limit: number,
	finish = false,
): Promise<{ rows: number; finished: boolean }> {
	const statements = Object.entries(PURGE_TABLES).map(([table, rows]) =>
		d1.prepare(`DELETE FROM ${table} WHERE rowid IN (${rows})`).bind(workspaceId, limit),
	);
	if (finish) {
		statements.push(
			d1.prepare("DELETE FROM workspaces WHERE id = ?1 AND deletion_requested_at IS NOT NULL").bind(workspaceId),
		);
	}
	const results = await d1.batch(statements);
	const changes = results.map((r) => r.meta.changes ?? 0);
	const finished = finish && (changes.at(-1) ?? 0) > 0;
	const rows = changes.slice(0, PURGE_TABLE_COUNT).reduce((sum, n) => sum + n, 0);
	return { rows, finished };
}

const PURGE_TABLE_COUNT = Object.keys(PURGE_TABLES).length;

/** Adds this run's counts to the progress shown on the workspace. */
export async function recordPurgeProgress(
	d1: D1Database,
	workspaceId: string,
	rows: number,
	objects: number,
	now: number,
): Promise<void> {
	const start: PurgeProgress = { rowsDeleted: 0, objectsDeleted: 0, runs: 0, lastRunAt: null };
	await d1
		.prepare(
			`UPDATE workspaces SET purge = json_object(
			   'rowsDeleted', json_extract(p.v, '$.rowsDeleted') + ?2,
			   'objectsDeleted', json_extract(p.v, '$.objectsDeleted') + ?3,
			   'runs', json_extract(p.v, '$.runs') + 1,
			   'lastRunAt', ?4)
			 FROM (SELECT COALESCE(purge, ?5) AS v FROM workspaces WHERE id = ?1) AS p
			 WHERE id = ?1`,
		)
		.bind(workspaceId, rows, objects, now, JSON.stringify(start))
		.run();
}
