// Named queues in D1 (issue 9): settings, pause state, and the bulk changes pause/resume/drain make
// to the messages of a queue, each in one D1 batch.
import { count } from "../../lib/metrics";
import { FINAL_STATUSES, PAUSED_UNTIL } from "./delivery";
import type { EventRow } from "./events";

export type QueueRow = {
	id: string;
	workspace_id: string;
	name: string;
	priority: number;
	rate_per_minute: number | null;
	max_retries: number;
	retry_delays: string;
	strategy: string | null;
	paused: number;
	created_at: number;
	updated_at: number;
};

export type QueueFields = {
	name: string;
	priority: number;
	rate_per_minute: number | null;
	max_retries: number;
	retry_delays: number[];
	strategy: string | null;
};

const COLUMNS =
	"id, workspace_id, name, priority, rate_per_minute, max_retries, retry_delays, strategy, paused, created_at, updated_at";
const EVENT_COLUMNS = "id, workspace_id, message_id, recipient, type, data, created_at";

export async function ensureQueue(db: D1Database, workspaceId: string, id: string, name: string): Promise<void> {
	await db
		// The default queue retries as DESIGN.md says (8 retries), not the column's older default of 5.
		.prepare("INSERT INTO queues (id, workspace_id, name, max_retries) VALUES (?1, ?2, ?3, 8) ON CONFLICT DO NOTHING")
		.bind(id, workspaceId, name)
		.run();
}

export async function listQueues(db: D1Database, workspaceId: string): Promise<QueueRow[]> {
	const { results } = await db
		.prepare(`SELECT ${COLUMNS} FROM queues WHERE workspace_id = ? ORDER BY priority DESC, name`)
		.bind(workspaceId)
		.all<QueueRow>();
	return results;
}

export async function findQueue(db: D1Database, workspaceId: string, id: string): Promise<QueueRow | null> {
	return db
		.prepare(`SELECT ${COLUMNS} FROM queues WHERE workspace_id = ?1 AND id = ?2`)
		.bind(workspaceId, id)
		.first<QueueRow>();
}

/** Null when the workspace already has a queue of that name. */
export async function insertQueue(
	db: D1Database,
	workspaceId: string,
	id: string,
	fields: QueueFields,
): Promise<QueueRow | null> {
	return db
		.prepare(
			`INSERT INTO queues (id, workspace_id, name, priority, rate_per_minute, max_retries, retry_delays, strategy)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
		)
		.bind(
			id,
			workspaceId,
			fields.name,
			fields.priority,
			fields.rate_per_minute,
			fields.max_retries,
			JSON.stringify(fields.retry_delays),
			fields.strategy,
		)
		.first<QueueRow>();
}

export async function updateQueue(
	db: D1Database,
	workspaceId: string,
	id: string,
	fields: QueueFields,
	now: number,
): Promise<QueueRow | "missing" | "conflict"> {
	try {
		const row = await db
			.prepare(
				`UPDATE queues SET name = ?3, priority = ?4, rate_per_minute = ?5, max_retries = ?6, retry_delays = ?7,
				   strategy = ?8, updated_at = ?9 WHERE workspace_id = ?1 AND id = ?2 RETURNING ${COLUMNS}`,
			)
			.bind(
				workspaceId,
				id,
				fields.name,
				fields.priority,
				fields.rate_per_minute,
				fields.max_retries,
				JSON.stringify(fields.retry_delays),
				fields.strategy,
				now,
			)
			.first<QueueRow>();
		return row ?? "missing";
	} catch (error) {
		if (String(error).includes("UNIQUE constraint failed")) return "conflict";
		throw error;
	}
}

/** Deletes an empty queue: "busy" while any of its messages is not final. */
export async function deleteQueue(
	db: D1Database,
	workspaceId: string,
	id: string,
): Promise<"deleted" | "missing" | "busy"> {
	const waiting = await db
		.prepare(`SELECT 1 AS x FROM messages WHERE queue_id = ?1 AND status NOT IN ${FINAL_STATUSES} LIMIT 1`)
		.bind(id)
		.first();
	if (waiting) return "busy";
	const row = await db
		.prepare("DELETE FROM queues WHERE workspace_id = ?1 AND id = ?2 RETURNING id")
		.bind(workspaceId, id)
		.first();
	return row ? "deleted" : "missing";
}

export async function setPaused(
	db: D1Database,
	workspaceId: string,
	id: string,
	now: number,
): Promise<QueueRow | null> {
	return db
		.prepare(`UPDATE queues SET paused = 1, updated_at = ?3 WHERE workspace_id = ?1 AND id = ?2 RETURNING ${COLUMNS}`)
		.bind(workspaceId, id, now)
		.first<QueueRow>();
}

/**
 * Resumes the queue and makes every message it parked due now, in one transaction: a consumer's claim
 * runs entirely before it (and parks, then this un-parks) or entirely after (and claims).
 */
export async function resume(db: D1Database, workspaceId: string, id: string, now: number): Promise<QueueRow | null> {
	const [queue] = await db.batch([
		db
			.prepare(`UPDATE queues SET paused = 0, updated_at = ?3 WHERE workspace_id = ?1 AND id = ?2 RETURNING ${COLUMNS}`)
			.bind(workspaceId, id, now),
		db
			.prepare(
				`UPDATE messages SET next_attempt_at = ?3, updated_at = ?3
				 WHERE queue_id = ?2 AND workspace_id = ?1 AND status IN ('queued', 'deferred') AND next_attempt_at = ${PAUSED_UNTIL}`,
			)
			.bind(workspaceId, id, now),
	]);
	count("d1_write_batches_total");
	return ((queue?.results ?? []) as QueueRow[])[0] ?? null;
}

/** Ids of the queue's messages that wait in D1 (un-parked by resume), oldest first (ids are ULIDs), one page. */
export async function waitingIds(
	db: D1Database,
	workspaceId: string,
	queueId: string,
	afterId: string,
	limit: number,
): Promise<string[]> {
	const { results } = await db
		.prepare(
			`SELECT id FROM messages WHERE queue_id = ?1 AND workspace_id = ?2 AND status IN ('queued', 'deferred')
			   AND id > ?3 ORDER BY id LIMIT ?4`,
		)
		.bind(queueId, workspaceId, afterId, limit)
		.all<{ id: string }>();
	return results.map((r) => r.id);
}

/** Cancels what waits in the queue (not what a consumer holds), with a `cancelled` event each. */
export async function drain(
	db: D1Database,
	workspaceId: string,
	queueId: string,
	now: number,
): Promise<{ cancelled: number; events: EventRow[] }> {
	const results = await db.batch([
		db
			.prepare(
				`UPDATE messages SET status = 'cancelled', next_attempt_at = NULL, last_error = 'drained from its queue',
				   updated_at = ?3
				 WHERE queue_id = ?2 AND workspace_id = ?1 AND status IN ('queued', 'deferred') RETURNING id`,
			)
			.bind(workspaceId, queueId, now),
		db
			.prepare(
				`UPDATE message_recipients SET status = 'cancelled', last_event_at = ?2
				 WHERE status IN ('queued', 'deferred', 'processing') AND message_id IN
				   (SELECT id FROM messages WHERE queue_id = ?1 AND status = 'cancelled' AND updated_at = ?2)`,
			)
			.bind(queueId, now),
		db
			.prepare(
				`INSERT INTO events (${EVENT_COLUMNS})
				 SELECT id || ':cancelled', workspace_id, id, NULL, 'cancelled', json_object('reason', 'drain'), ?2
				 FROM messages WHERE queue_id = ?1 AND status = 'cancelled' AND updated_at = ?2
				 ON CONFLICT DO NOTHING RETURNING ${EVENT_COLUMNS}`,
			)
			.bind(queueId, now),
	]);
	count("d1_write_batches_total");
	return { cancelled: results[0]?.results?.length ?? 0, events: (results[2]?.results ?? []) as EventRow[] };
}

export type QueueStats = { counts: Record<string, number>; oldestWaitingAt: number | null };

export async function queueStats(db: D1Database, workspaceId: string, queueId: string): Promise<QueueStats> {
	const { results } = await db
		.prepare(
			`SELECT status, COUNT(*) AS n, MIN(created_at) AS oldest FROM messages
			 WHERE queue_id = ?1 AND workspace_id = ?2 GROUP BY status`,
		)
		.bind(queueId, workspaceId)
		.all<{ status: string; n: number; oldest: number }>();
	const counts: Record<string, number> = {};
	let oldest: number | null = null;
	for (const r of results) {
		counts[r.status] = r.n;
		if (
			(r.status === "queued" || r.status === "deferred" || r.status === "processing") &&
			(oldest === null || r.oldest < oldest)
		)
			oldest = r.oldest;
	}
	return { counts, oldestWaitingAt: oldest };
}
