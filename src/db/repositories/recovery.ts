// The recovery sweep's D1 access (issue "Nothing stranded"): rows that wait past their due time plus
// a grace, found through the (status, lease_expires_at) and (status, next_attempt_at) indexes, oldest
// first and at most `limit` per reason, so a run costs the same whatever the backlog.
import { count } from "../../lib/metrics";
import type { EventRow } from "./events";

export type StrandedReason = "lease_expired" | "deferred_overdue" | "queued_unclaimed";

/** `priority`: the message's queue's (issue 9), null without a queue row; it picks the redrive's band. */
export type Stranded = { id: string; workspace_id: string; reason: StrandedReason; priority?: number | null };

const QUEUE_PRIORITY = "(SELECT q.priority FROM queues q WHERE q.id = messages.queue_id) AS priority";

export type SweepInput = {
	now: number;
	/** Rows whose lease ran out before this time. */
	leaseCutoff: number;
	/** Deferred rows whose next attempt was due before this time. */
	deferredCutoff: number;
	/** Queued rows waiting since before this time. */
	queuedCutoff: number;
	limit: number;
};

const EVENT_COLUMNS = "id, workspace_id, message_id, recipient, type, data, created_at";

/** The three candidate queries, exported so tests and docs can show their plans. */
export const STRANDED_QUERIES = {
	lease_expired:
		"SELECT id FROM messages WHERE status = 'processing' AND lease_expires_at < ?1 ORDER BY lease_expires_at LIMIT ?2",
	deferred_overdue:
		"SELECT id FROM messages WHERE status = 'deferred' AND next_attempt_at < ?1 ORDER BY next_attempt_at LIMIT ?2",
	queued_unclaimed:
		"SELECT id FROM messages WHERE status = 'queued' AND next_attempt_at < ?1 ORDER BY next_attempt_at LIMIT ?2",
} as const;

/**
 * Marks stranded rows due now, in one D1 batch: an expired lease becomes a deferral due now (its
 * holder is gone, and clearing the token voids anything it might still write); an overdue deferral or
 * a never-claimed row gets `next_attempt_at = now`, so the next sweep leaves it alone for a grace.
 */
export type Taken = { stranded: Stranded[]; rowsRead: number; d1Ms: number };

export async function takeStranded(db: D1Database, input: SweepInput): Promise<Taken> {
	const results = await db.batch([
		db
			.prepare(
				`UPDATE messages SET status = 'deferred', lease_token = NULL, lease_expires_at = NULL, next_attempt_at = ?3,
				   updated_at = ?3
				 WHERE id IN (${STRANDED_QUERIES.lease_expired}) RETURNING id, workspace_id, 'lease_expired' AS reason, ${QUEUE_PRIORITY}`,
			)
			.bind(input.leaseCutoff, input.limit, input.now),
		db
			.prepare(
				`UPDATE messages SET next_attempt_at = ?3, updated_at = ?3
				 WHERE id IN (${STRANDED_QUERIES.deferred_overdue}) RETURNING id, workspace_id, 'deferred_overdue' AS reason, ${QUEUE_PRIORITY}`,
			)
			.bind(input.deferredCutoff, input.limit, input.now),
		db
			.prepare(
				`UPDATE messages SET next_attempt_at = ?3, updated_at = ?3
				 WHERE id IN (${STRANDED_QUERIES.queued_unclaimed}) RETURNING id, workspace_id, 'queued_unclaimed' AS reason, ${QUEUE_PRIORITY}`,
			)
			.bind(input.queuedCutoff, input.limit, input.now),
	]);
	count("d1_write_batches_total");
	return {
		stranded: results.flatMap((r) => (r.results ?? []) as Stranded[]),
		// What D1 says the three statements cost: the figure the sweep must keep flat as backlogs grow.
		rowsRead: results.reduce((sum, r) => sum + (r.meta?.rows_read ?? 0), 0),
		d1Ms: results.reduce((sum, r) => sum + (r.meta?.duration ?? 0), 0),
	};
}

/** One `requeued` event per re-driven row. */
export async function insertRequeuedEvents(db: D1Database, rows: Stranded[], now: number): Promise<EventRow[]> {
	if (rows.length === 0) return [];
	const { results } = await db
		.prepare(
			`INSERT INTO events (${EVENT_COLUMNS})
			 SELECT json_extract(value,'$.id') || ':requeued:' || ?2, json_extract(value,'$.workspace_id'),
			   json_extract(value,'$.id'), NULL, 'requeued', json_object('reason', json_extract(value,'$.reason')), ?2
			 FROM json_each(?1) WHERE true
			 ON CONFLICT DO NOTHING RETURNING ${EVENT_COLUMNS}`,
		)
		.bind(JSON.stringify(rows), now)
		.all<EventRow>();
	return results;
}

export type RecoveryStats = {
	redriven: Record<StrandedReason, number>;
	/** Age in ms of the oldest message per non-final status, by its id's time (ULIDs sort by time). */
	oldestIds: Record<string, string | null>;
};

/** A workspace's re-drive counts and oldest non-final message per status, for /metrics. */
export async function recoveryStats(db: D1Database, workspaceId: string): Promise<RecoveryStats> {
	const [redriven, oldest] = await db.batch([
		db
			.prepare(
				`SELECT json_extract(data,'$.reason') AS reason, COUNT(*) AS n FROM events
				 WHERE workspace_id = ?1 AND type = 'requeued' GROUP BY reason`,
			)
			.bind(workspaceId),
		db
			.prepare(
				`SELECT status, MIN(id) AS id FROM messages
				 WHERE workspace_id = ?1 AND status IN ('scheduled','queued','processing','deferred') GROUP BY status`,
			)
			.bind(workspaceId),
	]);
	const stats: RecoveryStats = {
		redriven: { lease_expired: 0, deferred_overdue: 0, queued_unclaimed: 0 },
		oldestIds: { scheduled: null, queued: null, processing: null, deferred: null },
	};
	for (const r of (redriven?.results ?? []) as { reason: StrandedReason; n: number }[]) {
		if (r.reason in stats.redriven) stats.redriven[r.reason] = r.n;
	}
	for (const r of (oldest?.results ?? []) as { status: string; id: string }[]) stats.oldestIds[r.status] = r.id;
	return stats;
}
