// recordFeedback's D1 access: one D1 batch (one transaction) per call writes every new item's
// recipient status, message status, recipients row, suppressions and event. An item is new when its
// deterministic event id is not in `events` yet and its message (if named) is the workspace's; the
// event insert runs LAST, so every earlier statement still sees a replay's event and skips it.
import { count } from "../../lib/metrics";
import type { RecipientStatus, SuppressionReason } from "../schema";
import type { EventRow } from "./events";

/** One feedback item as the domain prepared it (JSON-bound; emails lower-case). */
export type FeedbackRow = {
	event_id: string;
	workspace_id: string;
	message_id: string | null;
	recipient: string;
	event_type: string;
	data: string;
	at: number;
	/** The message_recipients status this item moves the recipient to (guarded), or null. */
	target: "delivered" | "bounced" | "rejected" | "complained" | null;
	/** `last_error` for the recipient when the item is a bounce or reject. */
	error: string | null;
	/** The recipients table status it implies, or null. */
	recipient_status: RecipientStatus | null;
	/** The suppression it adds at once, or null. */
	suppress: Extract<SuppressionReason, "hard_bounce" | "complaint" | "unsubscribe"> | null;
	bounce: 0 | 1;
	soft: 0 | 1;
	/** A fresh id for a recipients row, used only when the row does not exist yet. */
	recipient_row_id: string;
	/** A fresh id for a suppression, used only when there is none yet. */
	suppression_id: string;
};

export type FeedbackWrite = {
	/** Event rows written by this call: one per recorded item. */
	events: EventRow[];
	/** `<workspace>\n<email>` pairs this call put on (or kept on) the suppression list. */
	suppressed: Set<string>;
};

/** Defaults of the workspace settings `settings.suppression.soft_bounce_limit` / `soft_bounce_window_days`. */
export const SOFT_BOUNCE_LIMIT = 3;
export const SOFT_BOUNCE_WINDOW_DAYS = 7;
const DAY_MS = 86_400_000;

const f = (name: string) => `json_extract(r.value,'$.${name}')`;
/** The call's items that are not replays and whose message (if any) belongs to their workspace. */
const FRESH = `fresh AS (
  SELECT ${f("event_id")} AS event_id, ${f("workspace_id")} AS workspace_id, ${f("message_id")} AS message_id,
    ${f("recipient")} AS recipient, ${f("event_type")} AS event_type, ${f("data")} AS data, ${f("at")} AS at,
    ${f("target")} AS target, ${f("error")} AS error, ${f("recipient_status")} AS recipient_status,
    ${f("suppress")} AS suppress, ${f("bounce")} AS bounce, ${f("soft")} AS soft,
    ${f("recipient_row_id")} AS recipient_row_id, ${f("suppression_id")} AS suppression_id
  FROM json_each(?1) AS r
  WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = ${f("event_id")})
    AND (${f("message_id")} IS NULL OR EXISTS (
      SELECT 1 FROM messages m WHERE m.id = ${f("message_id")} AND m.workspace_id = ${f("workspace_id")})))`;

/** Recipients-table status rank: feedback only moves a recipient up (complained beats everything). */
const RANK = (col: string) =>
	`CASE ${col} WHEN 'inactive' THEN 1 WHEN 'bounced' THEN 2 WHEN 'unsubscribed' THEN 3 WHEN 'complained' THEN 4 ELSE 0 END`;
const UNRANK = (col: string) =>
	`CASE ${col} WHEN 1 THEN 'inactive' WHEN 2 THEN 'bounced' WHEN 3 THEN 'unsubscribed' WHEN 4 THEN 'complained' ELSE 'active' END`;
/** message_recipients rank of a feedback target: terminal ones beat `delivered`. */
const TARGET_RANK = (col: string) => `CASE ${col} WHEN 'delivered' THEN 1 ELSE 2 END`;
const setting = (name: string, fallback: number, workspace: string) =>
	`(SELECT COALESCE(json_extract(w.settings,'$.suppression.${name}'), ${fallback}) FROM workspaces w WHERE w.id = ${workspace})`;

export async function writeFeedback(db: D1Database, rows: readonly FeedbackRow[], now: number): Promise<FeedbackWrite> {
	if (rows.length === 0) return { events: [], suppressed: new Set() };
	const json = JSON.stringify(rows);
	const windowMs = (ws: string) => `(${setting("soft_bounce_window_days", SOFT_BOUNCE_WINDOW_DAYS, ws)} * ${DAY_MS})`;
	const results = await db.batch([
		// 0. The recipient of the message: forward only (sent → delivered → bounced|rejected|complained).
		db
			.prepare(
				`WITH ${FRESH}, best AS (
				   SELECT message_id, recipient, target, error, at,
				     row_number() OVER (PARTITION BY message_id, recipient ORDER BY ${TARGET_RANK("target")} DESC, at DESC) AS n
				   FROM fresh WHERE message_id IS NOT NULL AND target IS NOT NULL)
				 UPDATE message_recipients SET status = best.target, last_error = COALESCE(best.error, last_error),
				   last_event_at = best.at
				 FROM best
				 WHERE best.n = 1 AND message_recipients.message_id = best.message_id
				   AND lower(message_recipients.email) = best.recipient
				   AND (message_recipients.status = 'sent'
				     OR (message_recipients.status = 'delivered' AND best.target <> 'delivered'))`,
			)
			.bind(json),
		// 1. The message follows once no recipient is left at `sent` (docs/suppressions.md "Statuses").
		db
			.prepare(
				`WITH ${FRESH}
				 UPDATE messages SET updated_at = ?2, status = CASE
				     WHEN EXISTS (SELECT 1 FROM message_recipients x WHERE x.message_id = messages.id
				       AND x.status IN ('delivered','complained')) THEN 'delivered'
				     WHEN EXISTS (SELECT 1 FROM message_recipients x WHERE x.message_id = messages.id
				       AND x.status = 'bounced') THEN 'bounced'
				     WHEN EXISTS (SELECT 1 FROM message_recipients x WHERE x.message_id = messages.id
				       AND x.status = 'rejected') THEN 'rejected'
				     ELSE status END
				 WHERE id IN (SELECT message_id FROM fresh WHERE target IS NOT NULL)
				   AND status IN ('sent','delivered')
				   AND NOT EXISTS (SELECT 1 FROM message_recipients x WHERE x.message_id = messages.id AND x.status = 'sent')`,
			)
			.bind(json, now),
		// 2. The recipients table: created if missing; its status only moves up; bounce counters.
		db
			.prepare(
				`WITH ${FRESH}
				 INSERT INTO recipients (id, workspace_id, email, status, bounce_count, last_bounce_at, soft_bounce_count,
				   soft_bounce_since, last_event_at, created_at, updated_at)
				 SELECT min(recipient_row_id), workspace_id, recipient, ${UNRANK(`max(${RANK("recipient_status")})`)},
				   sum(bounce), CASE WHEN sum(bounce) > 0 THEN max(CASE WHEN bounce = 1 THEN at END) END,
				   sum(soft), min(CASE WHEN soft = 1 THEN at END), max(at), ?2, ?2
				 FROM fresh GROUP BY workspace_id, recipient
				 ON CONFLICT(workspace_id, email) DO UPDATE SET
				   status = CASE WHEN ${RANK("excluded.status")} > ${RANK("recipients.status")} THEN excluded.status
				     ELSE recipients.status END,
				   bounce_count = recipients.bounce_count + excluded.bounce_count,
				   last_bounce_at = COALESCE(excluded.last_bounce_at, recipients.last_bounce_at),
				   soft_bounce_count = CASE WHEN excluded.soft_bounce_count = 0 THEN recipients.soft_bounce_count
				     WHEN recipients.soft_bounce_since IS NULL
				       OR recipients.soft_bounce_since < excluded.soft_bounce_since - ${windowMs("recipients.workspace_id")}
				     THEN excluded.soft_bounce_count ELSE recipients.soft_bounce_count + excluded.soft_bounce_count END,
				   soft_bounce_since = CASE WHEN excluded.soft_bounce_count = 0 THEN recipients.soft_bounce_since
				     WHEN recipients.soft_bounce_since IS NULL
				       OR recipients.soft_bounce_since < excluded.soft_bounce_since - ${windowMs("recipients.workspace_id")}
				     THEN excluded.soft_bounce_since ELSE recipients.soft_bounce_since END,
				   last_event_at = max(COALESCE(recipients.last_event_at, 0), excluded.last_event_at),
				   updated_at = excluded.updated_at`,
			)
			.bind(json, now),
		// 3. Suppressions at once (hard bounce, complaint, unsubscribe). An entry that would expire
		// becomes permanent; a permanent one keeps its reason.
		db
			.prepare(
				`WITH ${FRESH}
				 INSERT INTO suppressions (id, workspace_id, email, reason, source_message_id, expires_at, created_at)
				 SELECT min(suppression_id), workspace_id, recipient, max(suppress), max(message_id), NULL, ?2
				 FROM fresh WHERE suppress IS NOT NULL GROUP BY workspace_id, recipient
				 ON CONFLICT(workspace_id, email) DO UPDATE SET
				   reason = CASE WHEN suppressions.expires_at IS NULL THEN suppressions.reason ELSE excluded.reason END,
				   source_message_id = CASE WHEN suppressions.expires_at IS NULL THEN suppressions.source_message_id
				     ELSE excluded.source_message_id END,
				   expires_at = NULL
				 RETURNING workspace_id, email`,
			)
			.bind(json, now),
		// 4. Soft bounces suppress once `soft_bounce_limit` of them fall in the window (0 disables).
		db
			.prepare(
				`WITH ${FRESH}
				 INSERT INTO suppressions (id, workspace_id, email, reason, source_message_id, expires_at, created_at)
				 SELECT min(fresh.suppression_id), fresh.workspace_id, fresh.recipient, 'soft_bounce', max(fresh.message_id),
				   NULL, ?2
				 FROM fresh JOIN recipients rc ON rc.workspace_id = fresh.workspace_id AND rc.email = fresh.recipient
				 WHERE fresh.soft = 1
				   AND ${setting("soft_bounce_limit", SOFT_BOUNCE_LIMIT, "fresh.workspace_id")} > 0
				   AND rc.soft_bounce_count >= ${setting("soft_bounce_limit", SOFT_BOUNCE_LIMIT, "fresh.workspace_id")}
				 GROUP BY fresh.workspace_id, fresh.recipient
				 ON CONFLICT(workspace_id, email) DO UPDATE SET
				   reason = CASE WHEN suppressions.expires_at IS NULL THEN suppressions.reason ELSE excluded.reason END,
				   expires_at = NULL
				 RETURNING workspace_id, email`,
			)
			.bind(json, now),
		// 5. Last: the events, which make a replay of any of these items a no-op from now on.
		db
			.prepare(
				`WITH ${FRESH}
				 INSERT INTO events (id, workspace_id, message_id, recipient, type, data, created_at)
				 SELECT event_id, workspace_id, message_id, recipient, event_type, data, at FROM fresh WHERE true
				 ON CONFLICT(id) DO NOTHING
				 RETURNING id, workspace_id, message_id, recipient, type, data, created_at`,
			)
			.bind(json),
	]);
	count("d1_write_batches_total");
	const suppressed = new Set<string>();
	for (const i of [3, 4]) {
		for (const s of (results[i]?.results ?? []) as { workspace_id: string; email: string }[]) {
			suppressed.add(`${s.workspace_id}\n${s.email}`);
		}
	}
	return { events: (results[5]?.results ?? []) as EventRow[], suppressed };
}
