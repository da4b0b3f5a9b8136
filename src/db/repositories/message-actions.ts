// Cancel and retry of one message, each one D1 batch: the status change, its recipients and its
// event row commit together (the one event path), and the batch reads back the state it left, so
// the caller can say why nothing changed.
import { count } from "../../lib/metrics";
import type { EventRow } from "./events";

const EVENT_COLUMNS = "id, workspace_id, message_id, recipient, type, data, created_at";
const PENDING_RECIPIENT = "('queued','deferred','processing')";

/** `priority` (retry only): the message's queue's, which picks the redrive's band (issue 9). */
export type ActionState = { status: string; lease_expires_at: number | null; priority?: number | null };
export type ActionResult = { changed: boolean; events: EventRow[]; state: ActionState | null };

/** Statuses a cancel takes, and a `processing` row whose lease has run out (its consumer is gone). */
const CANCELLABLE = `(status IN ('queued','deferred','scheduled')
  OR (status = 'processing' AND (lease_expires_at IS NULL OR lease_expires_at <= ?3)))`;

export type Tombstone = { createdAt: number };

/**
 * Cancels the message. With `tombstone` (an accepted id the consumer has not materialized yet) a
 * `cancelled` row is inserted first, so the materialization's INSERT … ON CONFLICT DO NOTHING finds
 * the row already final and the claim never takes it.
 */
export async function cancelMessage(
	db: D1Database,
	workspaceId: string,
	id: string,
	now: number,
	tombstone: Tombstone | null,
): Promise<ActionResult> {
	const justCancelled =
		"SELECT id FROM messages WHERE id = ?1 AND workspace_id = ?2 AND status = 'cancelled' AND updated_at = ?3";
	const statements = [
		...(tombstone
			? [
					db
						.prepare(
							`INSERT INTO messages (id, workspace_id, from_email, subject, status, last_error, created_at, updated_at)
							 SELECT ?1, ?2, '', '', 'cancelled', 'cancelled before it was materialized', ?4, ?3
							 WHERE ?2 IN (SELECT id FROM workspaces)
							 ON CONFLICT(id) DO NOTHING RETURNING id`,
						)
						.bind(id, workspaceId, now, tombstone.createdAt),
				]
			: []),
		db
			.prepare(
				`UPDATE messages SET status = 'cancelled', lease_token = NULL, lease_expires_at = NULL, next_attempt_at = NULL,
				   last_error = 'cancelled by request', updated_at = ?3
				 WHERE id = ?1 AND workspace_id = ?2 AND ${CANCELLABLE} RETURNING id`,
			)
			.bind(id, workspaceId, now),
		db
			.prepare(
				`UPDATE message_recipients SET status = 'cancelled', last_event_at = ?3
				 WHERE message_id IN (${justCancelled}) AND status IN ${PENDING_RECIPIENT}`,
			)
			.bind(id, workspaceId, now),
		db
			.prepare(
				`INSERT INTO events (${EVENT_COLUMNS})
				 SELECT id || ':cancelled', workspace_id, id, NULL, 'cancelled', json_object('reason', 'request'), ?3
				 FROM messages WHERE id IN (${justCancelled})
				 ON CONFLICT DO NOTHING RETURNING ${EVENT_COLUMNS}`,
			)
			.bind(id, workspaceId, now),
		db
			.prepare("SELECT status, lease_expires_at FROM messages WHERE id = ?1 AND workspace_id = ?2")
			.bind(id, workspaceId),
	];
	const results = await db.batch(statements);
	count("d1_write_batches_total");
	const tail = results.slice(-4);
	const inserted = tombstone ? (results[0]?.results?.length ?? 0) > 0 : false;
	return {
		changed: inserted || (tail[0]?.results?.length ?? 0) > 0,
		events: (tail[2]?.results ?? []) as EventRow[],
		state: ((tail[3]?.results ?? [])[0] as ActionState | undefined) ?? null,
	};
}

/**
 * Makes a `failed` or `rejected` message `deferred`, due now, with a fresh attempt count (a full
 * retry budget); its failed and rejected recipients wait again, sent ones stay sent.
 */
export async function retryMessage(
	db: D1Database,
	workspaceId: string,
	id: string,
	now: number,
): Promise<ActionResult> {
	const justRetried =
		"SELECT id FROM messages WHERE id = ?1 AND workspace_id = ?2 AND status = 'deferred' AND updated_at = ?3 AND attempts = 0";
	const results = await db.batch([
		db
			.prepare(
				`UPDATE messages SET status = 'deferred', attempts = 0, next_attempt_at = ?3, lease_token = NULL,
				   lease_expires_at = NULL, updated_at = ?3
				 WHERE id = ?1 AND workspace_id = ?2 AND status IN ('failed','rejected') RETURNING id`,
			)
			.bind(id, workspaceId, now),
		db
			.prepare(
				`UPDATE message_recipients SET status = 'deferred', attempts = 0, last_event_at = ?3
				 WHERE message_id IN (${justRetried}) AND status IN ('failed','rejected')`,
			)
			.bind(id, workspaceId, now),
		db
			.prepare(
				`INSERT INTO events (${EVENT_COLUMNS})
				 SELECT id || ':requeued:' || ?3, workspace_id, id, NULL, 'requeued', json_object('reason', 'retry'), ?3
				 FROM messages WHERE id IN (${justRetried})
				 ON CONFLICT DO NOTHING RETURNING ${EVENT_COLUMNS}`,
			)
			.bind(id, workspaceId, now),
		db
			.prepare(
				`SELECT status, lease_expires_at, (SELECT q.priority FROM queues q WHERE q.id = messages.queue_id) AS priority
				 FROM messages WHERE id = ?1 AND workspace_id = ?2`,
			)
			.bind(id, workspaceId),
	]);
	count("d1_write_batches_total");
	return {
		changed: (results[0]?.results?.length ?? 0) > 0,
		events: (results[2]?.results ?? []) as EventRow[],
		state: ((results[3]?.results ?? [])[0] as ActionState | undefined) ?? null,
	};
}
