// The send consumer's D1 access: one D1 batch (one transaction, one round trip) to materialize and
// claim a queue batch, one to record its results. Rows travel as JSON parameters read with json_each,
// which keeps every statement under D1's 100-bound-parameter limit whatever the batch size; message
// rows, which carry bodies, are split so no parameter nears D1's 2 MB string limit.
//
// Claims are leases: a claim writes a fresh token and an expiry, and every outcome is written only
// where the row still holds that token, so a late or concurrent writer changes nothing.

import { utf8Length } from "../../lib/encoding";
import { count } from "../../lib/metrics";
import { FINAL_MESSAGE_STATUSES, type GatewayType, type MessageStatus } from "../schema";
import type { EventRow } from "./events";
import { countSends } from "./recipients";
import { reputationIncrements } from "./reputation";

export type MaterializeRow = {
	id: string;
	workspace_id: string;
	api_key_id: string | null;
	sandbox: 0 | 1;
	from_email: string;
	from_name: string | null;
	reply_to: string;
	subject: string;
	html: string | null;
	text: string | null;
	headers: string;
	tags: string;
	metadata: string;
	content_key: string | null;
	/** The named queue the message was sent to (issue 9). */
	queue_id: string | null;
	/** SMTP (issue 10): the client's message when not in R2, and the client's IP. */
	raw_mime: string | null;
	client_ip: string | null;
	source: "api" | "smtp";
	created_at: number;
};

export type RecipientRow = { m: string; k: "to" | "cc" | "bcc"; e: string; n: string | null };

/** A row this batch now holds the lease of. */
export type ClaimedRow = {
	id: string;
	workspace_id: string;
	attempts: number;
	created_at: number;
	/** The named queue (rate limits and priority, issue 9); null for rows from before queues. */
	queue_id: string | null;
};

/** What a redrive needs to rebuild the message from D1. */
export type ContentRow = Omit<MaterializeRow, "created_at"> & { created_at: number };

export type RecipientState = {
	message_id: string;
	kind: "to" | "cc" | "bcc";
	email: string;
	name: string | null;
	status: MessageStatus;
};

export type RowState = {
	id: string;
	status: MessageStatus;
	lease_expires_at: number | null;
	next_attempt_at: number | null;
};

export type GatewayRow = {
	id: string;
	workspace_id: string;
	type: GatewayType;
	config: string;
	credentials_enc: string | null;
	priority: number;
	weight: number;
	is_legacy: 0 | 1;
	health_status: "unknown" | "healthy" | "unhealthy";
	can_route: string;
	exclude_patterns: string;
	rate_per_second: number | null;
	rate_per_minute: number | null;
	rate_per_hour: number | null;
	rate_per_day: number | null;
};

/** What routing and retries need of a named queue. */
export type QueueRow = {
	id: string;
	strategy: string | null;
	max_retries: number;
	retry_delays: string;
	/** Issue 9: the queue's priority (1–10): the priority band of its redrives and global limits. */
	priority: number;
};

/** What routing needs of a workspace; `reputation_state` (issue 11) says whether it is throttled. */
export type WorkspaceRow = {
	id: string;
	routing_mode: "legacy" | "gateway" | "hybrid";
	settings: string;
	reputation_state?: string | null;
};

export type RuleRow = {
	id: string;
	workspace_id: string;
	queue_id: string | null;
	position: number;
	match: string;
	strategy: string | null;
	gateway_ids: string;
};

export type ClaimInput = {
	rows: MaterializeRow[];
	recipients: RecipientRow[];
	/** Every message id of the batch, materialized now or earlier. */
	ids: string[];
	/** Ids whose content must be read back from D1 (redriven rows). */
	contentIds: string[];
	workspaceIds: string[];
	token: string;
	leaseUntil: number;
	/** A suspended workspace's claimable rows are held: not claimed, and not due again before this. */
	holdUntil: number;
	now: number;
};

export type ClaimResult = {
	claimed: ClaimedRow[];
	content: ContentRow[];
	recipients: RecipientState[];
	/** State after the batch of every id that has a row. */
	states: Map<string, RowState>;
	/** Enabled gateways of the batch's workspaces, best priority first. */
	gateways: GatewayRow[];
	workspaces: WorkspaceRow[];
	/** Enabled routing rules of the batch's workspaces, by position. */
	rules: RuleRow[];
	/** The batch's workspaces' named queues: routing strategy and retry schedule. */
	queues: Map<string, QueueRow>;
	/** Events this batch wrote (`queued` for new rows, `processing` for claims). */
	events: EventRow[];
	/** Ids left unclaimed because their workspace is suspended. */
	held: Set<string>;
};

/** FINAL_MESSAGE_STATUSES as an SQL list, for `status NOT IN …`. */
export const FINAL_STATUSES = `(${[...FINAL_MESSAGE_STATUSES].map((s) => `'${s}'`).join(",")})`;
const PENDING_RECIPIENT = "('queued','deferred','processing')";
const EVENT_COLUMNS = "id, workspace_id, message_id, recipient, type, data, created_at";
const IN_IDS = "SELECT value FROM json_each(?1)";
/**
 * A row is claimable when it waits (queued), its next attempt is due (deferred), or the lease of a
 * consumer that died has run out (processing); `now` names the parameter holding the time.
 */
const claimable = (now: string) => `(status = 'queued'
  OR (status = 'deferred' AND (next_attempt_at IS NULL OR next_attempt_at <= ${now}))
  OR (status = 'processing' AND (lease_expires_at IS NULL OR lease_expires_at <= ${now})))`;
/**
 * Whether `t`'s recipient (a message_recipients row) is on its workspace's or the platform's
 * suppression list, unexpired at `now`: two unique-index lookups.
 */
const SUPPRESSED = (t: string, now: string) => `(EXISTS (SELECT 1 FROM suppressions s
    WHERE s.workspace_id = (SELECT workspace_id FROM messages WHERE id = ${t}.message_id) AND s.email = lower(${t}.email)
      AND (s.expires_at IS NULL OR s.expires_at > ${now}))
  OR EXISTS (SELECT 1 FROM platform_suppressions p WHERE p.email = lower(${t}.email)
      AND (p.expires_at IS NULL OR p.expires_at > ${now})))`;
/** Issue 9: the queues whose messages wait (pause/resume in src/domain/queues). */
const PAUSED_QUEUES = "SELECT id FROM queues WHERE paused = 1";
/** `next_attempt_at` of a row parked by a paused queue: later than any real due time. */
export const PAUSED_UNTIL = 8_640_000_000_000_000;

export async function materializeAndClaim(db: D1Database, input: ClaimInput): Promise<ClaimResult> {
	const { token, now } = input;
	const idsJson = JSON.stringify(input.ids);
	const held = `SELECT id FROM messages WHERE id IN (${IN_IDS}) AND lease_token = ?2`;
	const results = await db.batch([
		...insertMessages(db, input.rows, "queued", now),
		insertRecipients(db, input.recipients, "queued"),
		db
			.prepare(
				`INSERT INTO events (${EVENT_COLUMNS})
				 SELECT id || ':queued', workspace_id, id, NULL, 'queued', '{}', created_at FROM messages WHERE id IN (${IN_IDS})
				 ON CONFLICT DO NOTHING RETURNING ${EVENT_COLUMNS}`,
			)
			.bind(idsJson),
		// A suspended workspace's claimable rows are held instead: an expired lease is released, and the
		// due time moves to the hold's end, so the recovery sweep leaves them to the queue copy that the
		// consumer hands back for then (reason `suspended`).
		db
			.prepare(
				`UPDATE messages SET status = CASE WHEN status = 'processing' THEN 'deferred' ELSE status END,
				   lease_token = NULL, lease_expires_at = NULL, next_attempt_at = ?2, updated_at = ?3
				 WHERE id IN (${IN_IDS}) AND ${claimable("?3")}
				   AND workspace_id IN (SELECT id FROM workspaces WHERE status <> 'active')
				 RETURNING id`,
			)
			.bind(idsJson, input.holdUntil, now),
		// Issue 9: a row of a paused queue is not claimed; it is parked (next_attempt_at = PAUSED_UNTIL, out
		// of the recovery sweep's sight) until resume makes it due and re-enqueues it.
		db
			.prepare(
				`UPDATE messages SET next_attempt_at = ${PAUSED_UNTIL}, updated_at = ?2
				 WHERE id IN (${IN_IDS}) AND status IN ('queued', 'deferred') AND queue_id IN (${PAUSED_QUEUES})`,
			)
			.bind(idsJson, now),
		db
			.prepare(
				`UPDATE messages SET status = 'processing', lease_token = ?2, lease_expires_at = ?3, updated_at = ?4
				 WHERE id IN (${IN_IDS}) AND ${claimable("?4")}
				   AND workspace_id IN (SELECT id FROM workspaces WHERE status = 'active')
				   AND (queue_id IS NULL OR queue_id NOT IN (${PAUSED_QUEUES}))
				 RETURNING id, workspace_id, attempts, created_at, queue_id`,
			)
			.bind(idsJson, token, input.leaseUntil, now),
		db
			.prepare(
				`INSERT INTO events (${EVENT_COLUMNS})
				 SELECT id || ':processing:' || ?2, workspace_id, id, NULL, 'processing', json_object('attempt', attempts + 1), ?3
				 FROM messages WHERE id IN (${IN_IDS}) AND lease_token = ?2
				 ON CONFLICT DO NOTHING RETURNING ${EVENT_COLUMNS}`,
			)
			.bind(idsJson, token, now),
		db
			.prepare(
				`UPDATE message_recipients SET status = 'processing'
				 WHERE message_id IN (${held}) AND status IN ${PENDING_RECIPIENT}`,
			)
			.bind(idsJson, token),
		// Suppression lists (docs/suppressions.md): a claimed recipient on the workspace's or the platform's
		// list, unexpired, is skipped with a `suppressed` event; one statement for the whole batch.
		db
			.prepare(
				`UPDATE message_recipients SET status = 'suppressed', last_event_at = ?3
				 WHERE message_id IN (${held}) AND status = 'processing' AND ${SUPPRESSED("message_recipients", "?3")}`,
			)
			.bind(idsJson, token, now),
		db
			.prepare(
				`INSERT INTO events (${EVENT_COLUMNS})
				 SELECT r.message_id || ':suppressed:' || lower(r.email), m.workspace_id, r.message_id, lower(r.email), 'suppressed',
				   json_object('reason', COALESCE(
				     (SELECT s.reason FROM suppressions s WHERE s.workspace_id = m.workspace_id AND s.email = lower(r.email)),
				     (SELECT p.reason FROM platform_suppressions p WHERE p.email = lower(r.email))),
				     'list', CASE WHEN EXISTS (SELECT 1 FROM suppressions s WHERE s.workspace_id = m.workspace_id
				       AND s.email = lower(r.email) AND (s.expires_at IS NULL OR s.expires_at > ?3)) THEN 'workspace' ELSE 'platform' END),
				   ?3
				 FROM message_recipients r JOIN messages m ON m.id = r.message_id
				 WHERE r.message_id IN (${held}) AND r.status = 'suppressed' AND r.last_event_at = ?3
				 ON CONFLICT DO NOTHING RETURNING ${EVENT_COLUMNS}`,
			)
			.bind(idsJson, token, now),
		db
			.prepare(`SELECT message_id, kind, email, name, status FROM message_recipients WHERE message_id IN (${held})`)
			.bind(idsJson, token),
		db
			.prepare(
				`SELECT id, workspace_id, api_key_id, sandbox, from_email, from_name, reply_to, subject, html, text, headers,
				   tags, metadata, content_key, queue_id, raw_mime, client_ip, source, created_at
				 FROM messages WHERE id IN (${IN_IDS}) AND lease_token = ?2`,
			)
			.bind(JSON.stringify(input.contentIds), token),
		db
			.prepare(`SELECT id, status, lease_expires_at, next_attempt_at FROM messages WHERE id IN (${IN_IDS})`)
			.bind(idsJson),
		db
			.prepare(
				`SELECT id, workspace_id, type, config, credentials_enc, priority, weight, is_legacy, health_status, can_route,
				   exclude_patterns, rate_per_second, rate_per_minute, rate_per_hour, rate_per_day
				 FROM gateways WHERE enabled = 1 AND workspace_id IN (${IN_IDS}) ORDER BY priority, id`,
			)
			.bind(JSON.stringify(input.workspaceIds)),
		db
			.prepare(
				`SELECT id, routing_mode, settings,
				   (SELECT state FROM reputation_states r WHERE r.workspace_id = workspaces.id) AS reputation_state
				 FROM workspaces WHERE id IN (${IN_IDS})`,
			)
			.bind(JSON.stringify(input.workspaceIds)),
		db
			.prepare(
				`SELECT id, workspace_id, queue_id, position, match, strategy, gateway_ids FROM routing_rules
				 WHERE enabled = 1 AND workspace_id IN (${IN_IDS}) ORDER BY position, id`,
			)
			.bind(JSON.stringify(input.workspaceIds)),
		db
			.prepare(`SELECT id, strategy, max_retries, retry_delays, priority FROM queues WHERE workspace_id IN (${IN_IDS})`)
			.bind(JSON.stringify(input.workspaceIds)),
	]);
	count("d1_write_batches_total");
	const tail = results.slice(-15);
	const rowsOf = <T>(i: number) => (tail[i]?.results ?? []) as T[];
	// tail: queued events, suspended holds, paused parks, claims, processing events, recipient update,
	// suppressed recipients, suppressed events, recipients, content, states, gateways, workspaces, rules, queues.
	const states = new Map<string, RowState>();
	for (const row of rowsOf<RowState>(10)) states.set(row.id, row);
	return {
		events: [...rowsOf<EventRow>(0), ...rowsOf<EventRow>(4), ...rowsOf<EventRow>(7)],
		held: new Set(rowsOf<{ id: string }>(1).map((r) => r.id)),
		claimed: rowsOf<ClaimedRow>(3),
		recipients: rowsOf<RecipientState>(8),
		content: rowsOf<ContentRow>(9),
		states,
		gateways: rowsOf<GatewayRow>(11),
		workspaces: rowsOf<WorkspaceRow>(12),
		rules: rowsOf<RuleRow>(13),
		queues: new Map(rowsOf<QueueRow>(14).map((q) => [q.id, q])),
	};
}

function insertMessages(
	db: D1Database,
	rows: MaterializeRow[],
	status: "queued" | "failed",
	now: number,
): D1PreparedStatement[] {
	// Bodies make the rows large: they are bound in chunks that each stay under D1's 2 MB string limit.
	// Messages of a deleted workspace are skipped rather than failing the whole transaction.
	const v = (name: string) => `json_extract(value,'$.${name}')`;
	return chunkJson(rows, MAX_PARAM_BYTES).map((chunk) =>
		db
			.prepare(
				`INSERT INTO messages (id, workspace_id, api_key_id, source, sandbox, from_email, from_name, reply_to, subject,
				   html, text, headers, tags, metadata, content_key, queue_id, raw_mime, client_ip, status, next_attempt_at,
				   created_at, updated_at)
				 SELECT ${v("id")}, ${v("workspace_id")}, ${v("api_key_id")}, COALESCE(${v("source")}, 'api'), ${v("sandbox")},
				   ${v("from_email")}, ${v("from_name")}, ${v("reply_to")}, ${v("subject")}, ${v("html")}, ${v("text")},
				   ${v("headers")}, ${v("tags")}, ${v("metadata")}, ${v("content_key")}, ${v("queue_id")}, ${v("raw_mime")},
				   ${v("client_ip")}, ?2, ${v("created_at")}, ${v("created_at")}, ?3
				 FROM json_each(?1)
				 WHERE ${v("workspace_id")} IN (SELECT id FROM workspaces)
				 ON CONFLICT(id) DO NOTHING`,
			)
			.bind(chunk, status, now),
	);
}

function insertRecipients(db: D1Database, recipients: RecipientRow[], status: "queued" | "failed") {
	return db
		.prepare(
			`INSERT INTO message_recipients (message_id, kind, email, name, status)
			 SELECT json_extract(value,'$.m'), json_extract(value,'$.k'), json_extract(value,'$.e'), json_extract(value,'$.n'),
			   -- A message cancelled before it was materialized (domain/messages/cancel.ts) has a cancelled row already.
			   -- A primary-key lookup per recipient, not a scan of every cancelled message.
			   CASE WHEN EXISTS (SELECT 1 FROM messages c WHERE c.id = json_extract(value,'$.m') AND c.status = 'cancelled')
			     THEN 'cancelled' ELSE ?2 END
			 FROM json_each(?1)
			 WHERE json_extract(value,'$.m') IN (SELECT id FROM messages WHERE id IN (SELECT json_extract(value,'$.m') FROM json_each(?1)))
			 ON CONFLICT DO NOTHING`,
		)
		.bind(JSON.stringify(recipients), status);
}

/** D1 refuses strings over 2,000,000 bytes; bound JSON stays well below. */
export const MAX_PARAM_BYTES = 1_500_000;

/**
 * Serializes `items` as JSON arrays of at most `maxBytes` each (a single item larger than that gets a
 * chunk of its own; D1 rows are capped at 256 KB of content, so it cannot reach D1's limit).
 */
export function chunkJson<T>(items: readonly T[], maxBytes: number): string[] {
	const chunks: string[] = [];
	let current: string[] = [];
	let size = 2;
	for (const item of items) {
		const json = JSON.stringify(item);
		const bytes = utf8Length(json) + 1;
		if (current.length > 0 && size + bytes > maxBytes) {
			chunks.push(`[${current.join(",")}]`);
			current = [];
			size = 2;
		}
		current.push(json);
		size += bytes;
	}
	if (current.length > 0) chunks.push(`[${current.join(",")}]`);
	return chunks;
}

export type RecipientOutcome = {
	email: string;
	status: MessageStatus;
	/** 1 when this attempt tried the recipient. */
	tried: 0 | 1;
	gateway_id: string | null;
	provider_message_id: string | null;
	error: string | null;
};

export type Outcome = {
	id: string;
	/** The lease the outcome is written under. */
	token: string;
	status: Extract<MessageStatus, "sent" | "deferred" | "rejected" | "failed" | "suppressed">;
	attempts: number;
	gateway_id: string | null;
	provider_message_id: string | null;
	mime_key: string | null;
	error: string | null;
	next_attempt_at: number | null;
	recipients: RecipientOutcome[];
};

export type RecordResult = {
	/** Ids whose outcome was written (their lease was still held). */
	applied: Set<string>;
	events: EventRow[];
};

/** Writes every outcome of a consumer batch in one D1 batch, each only under its own lease. */
export async function recordOutcomes(
	db: D1Database,
	outcomes: Outcome[],
	events: (EventRow & { token: string })[],
	now: number,
): Promise<RecordResult> {
	if (outcomes.length === 0) return { applied: new Set(), events: [] };
	const json = JSON.stringify(outcomes);
	const recipients = outcomes.flatMap((o) => o.recipients.map((r) => ({ ...r, m: o.id, token: o.token })));
	const f = (name: string) => `json_extract(r.value,'$.${name}')`;
	const holds = (id: string, token: string) =>
		`EXISTS (SELECT 1 FROM messages h WHERE h.id = ${id} AND h.lease_token = ${token})`;
	const results = await db.batch([
		// Issue 11: the sent events counted for reputation, under the same lease check as the events themselves.
		reputationIncrements(db, events, "lease"),
		// Events and recipients first: the message update below releases the lease they are checked against.
		db
			.prepare(
				`INSERT INTO events (${EVENT_COLUMNS})
				 SELECT ${f("id")}, ${f("workspace_id")}, ${f("message_id")}, ${f("recipient")}, ${f("type")}, ${f("data")},
				   ${f("created_at")}
				 FROM json_each(?1) AS r WHERE ${holds(f("message_id"), f("token"))}
				 ON CONFLICT DO NOTHING RETURNING ${EVENT_COLUMNS}`,
			)
			.bind(JSON.stringify(events)),
		db
			.prepare(
				`UPDATE message_recipients SET status = ${f("status")}, attempts = attempts + ${f("tried")},
				   gateway_id = COALESCE(${f("gateway_id")}, gateway_id),
				   provider_message_id = COALESCE(${f("provider_message_id")}, provider_message_id),
				   last_error = CASE WHEN ${f("tried")} = 1 THEN ${f("error")} ELSE last_error END, last_event_at = ?2
				 FROM json_each(?1) AS r
				 WHERE message_recipients.message_id = ${f("m")} AND message_recipients.email = ${f("email")}
				   AND ${holds(f("m"), f("token"))}`,
			)
			.bind(JSON.stringify(recipients), now),
		countSends(db, recipients, now),
		db
			.prepare(
				`UPDATE messages SET status = ${f("status")}, attempts = ${f("attempts")}, gateway_id = ${f("gateway_id")},
				   provider_message_id = COALESCE(${f("provider_message_id")}, provider_message_id),
				   mime_key = COALESCE(${f("mime_key")}, mime_key), last_error = ${f("error")},
				   next_attempt_at = ${f("next_attempt_at")}, lease_token = NULL, lease_expires_at = NULL,
				   sent_at = CASE WHEN ${f("status")} = 'sent' THEN ?2 ELSE sent_at END, updated_at = ?2
				 FROM json_each(?1) AS r WHERE messages.id = ${f("id")} AND messages.lease_token = ${f("token")}
				 RETURNING messages.id`,
			)
			.bind(json, now),
	]);
	count("d1_write_batches_total");
	const applied = new Set(((results[4]?.results ?? []) as { id: string }[]).map((r) => r.id));
	return { applied, events: (results[1]?.results ?? []) as EventRow[] };
}

export type Failure = {
	id: string;
	workspace_id: string;
	error: string;
	/** The message as the job carried it, so a job that never reached D1 still leaves a row. */
	row: MaterializeRow | null;
	recipients: RecipientRow[];
};

/**
 * Marks dead-lettered messages failed, with an event: a row that never materialized is created from
 * the job itself. A row under a live lease is left to its holder, and a final row stays as it is.
 */
export async function markFailed(db: D1Database, failures: Failure[], now: number): Promise<EventRow[]> {
	if (failures.length === 0) return [];
	const json = JSON.stringify(failures.map(({ id, error }) => ({ id, error })));
	const rows = failures.flatMap((f) => (f.row ? [f.row] : []));
	const results = await db.batch([
		...insertMessages(db, rows, "failed", now),
		insertRecipients(
			db,
			failures.flatMap((f) => f.recipients),
			"failed",
		),
		db
			.prepare(
				`UPDATE messages SET status = 'failed', last_error = json_extract(r.value,'$.error'), lease_token = NULL,
				   lease_expires_at = NULL, next_attempt_at = NULL, updated_at = ?2
				 FROM json_each(?1) AS r WHERE messages.id = json_extract(r.value,'$.id')
				 AND (messages.status NOT IN ${FINAL_STATUSES} OR (messages.status = 'failed' AND messages.last_error IS NULL))
				 AND (messages.lease_expires_at IS NULL OR messages.lease_expires_at <= ?2)`,
			)
			.bind(json, now),
		db
			.prepare(
				`UPDATE message_recipients SET status = 'failed', last_event_at = ?1
				 WHERE message_id IN (SELECT id FROM messages WHERE id IN (SELECT json_extract(value,'$.id') FROM json_each(?2))
				   AND status = 'failed') AND status IN ${PENDING_RECIPIENT}`,
			)
			.bind(now, json),
		db
			.prepare(
				`INSERT INTO events (${EVENT_COLUMNS})
				 -- Only rows this batch made failed (stamped with its time): a failure after a manual retry gets
				 -- an event of its own, and a redelivered dead letter of a failed message none.
				 SELECT m.id || ':failed:' || ?2, m.workspace_id, m.id, NULL, 'failed',
				   json_object('error', json_extract(r.value,'$.error')), ?2
				 FROM json_each(?1) AS r JOIN messages m ON m.id = json_extract(r.value,'$.id') AND m.status = 'failed'
				   AND m.updated_at = ?2
				 ON CONFLICT DO NOTHING RETURNING ${EVENT_COLUMNS}`,
			)
			.bind(json, now),
	]);
	count("d1_write_batches_total");
	return (results.at(-1)?.results ?? []) as EventRow[];
}
