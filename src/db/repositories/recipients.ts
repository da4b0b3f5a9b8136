// The recipients table (docs/recipients.md): filled on send by the consumer's outcome batch, moved by
// feedback (./feedback.ts), read and set through /v1/recipients. Emails are stored lower-case.
import { newId } from "../../lib/ids";
import type { RecipientStatus } from "../schema";

/** A recipient outcome as recordOutcomes binds it: `m` the message, `token` its lease. */
type SentRecipient = { email: string; status: string; tried: 0 | 1; m: string; token: string };

/**
 * One statement of the consumer's outcome batch: every recipient this batch sent to gets its row
 * (created when new) with sent_count and last_sent_at, only where the batch still holds the lease.
 */
export function countSends(db: D1Database, recipients: readonly SentRecipient[], now: number): D1PreparedStatement {
	const sent = recipients
		.filter((r) => r.status === "sent" && r.tried === 1)
		.map((r) => ({ id: newId("rcp"), email: r.email.toLowerCase(), m: r.m, token: r.token }));
	const f = (name: string) => `json_extract(r.value,'$.${name}')`;
	return db
		.prepare(
			`INSERT INTO recipients (id, workspace_id, email, sent_count, last_sent_at, created_at, updated_at)
			 SELECT min(${f("id")}), m.workspace_id, ${f("email")}, count(*), ?2, ?2, ?2
			 FROM json_each(?1) AS r JOIN messages m ON m.id = ${f("m")} AND m.lease_token = ${f("token")}
			 GROUP BY m.workspace_id, ${f("email")}
			 ON CONFLICT(workspace_id, email) DO UPDATE SET sent_count = recipients.sent_count + excluded.sent_count,
			   last_sent_at = excluded.last_sent_at, updated_at = excluded.updated_at`,
		)
		.bind(JSON.stringify(sent), now);
}

export type RecipientRecord = {
	id: string;
	email: string;
	name: string | null;
	status: RecipientStatus;
	metadata: string;
	sent_count: number;
	last_sent_at: number | null;
	bounce_count: number;
	last_bounce_at: number | null;
	last_event_at: number | null;
	created_at: number;
	updated_at: number | null;
};

export type DeliveryRecord = {
	message_id: string;
	kind: string;
	status: string;
	last_error: string | null;
	subject: string;
	created_at: number;
	last_event_at: number | null;
};

export type HistoryEvent = {
	id: string;
	message_id: string | null;
	type: string;
	data: string;
	created_at: number;
};

export type SuppressionState = { reason: string; expires_at: number | null; list: "workspace" | "platform" };

export type RecipientDetail = {
	row: RecipientRecord | null;
	deliveries: DeliveryRecord[];
	events: HistoryEvent[];
	suppression: SuppressionState | null;
};

const COLUMNS = `id, email, name, status, metadata, sent_count, last_sent_at, bounce_count, last_bounce_at,
  last_event_at, created_at, updated_at`;
/** How much history GET /v1/recipients/{email} shows. */
export const HISTORY_MESSAGES = 20;
export const HISTORY_EVENTS = 50;

/**
 * A recipient with its history, newest first, in one D1 batch. Message rows keep the address as it
 * was sent (domain lower-cased), so both that form and the lower-case one are looked up by index.
 */
export async function findRecipient(
	db: D1Database,
	workspaceId: string,
	email: string,
	asSent: string,
	now: number,
): Promise<RecipientDetail> {
	const recent = `SELECT mr.message_id FROM message_recipients mr JOIN messages m ON m.id = mr.message_id
	  WHERE mr.email IN (?2, ?3) AND m.workspace_id = ?1 ORDER BY m.created_at DESC LIMIT ${HISTORY_MESSAGES}`;
	const [rows, deliveries, events, suppression] = await db.batch([
		db.prepare(`SELECT ${COLUMNS} FROM recipients WHERE workspace_id = ?1 AND email = ?2`).bind(workspaceId, email),
		db
			.prepare(
				`SELECT mr.message_id, mr.kind, mr.status, mr.last_error, m.subject, m.created_at, mr.last_event_at
				 FROM message_recipients mr JOIN messages m ON m.id = mr.message_id
				 WHERE mr.email IN (?2, ?3) AND m.workspace_id = ?1 ORDER BY m.created_at DESC LIMIT ${HISTORY_MESSAGES}`,
			)
			.bind(workspaceId, email, asSent),
		db
			.prepare(
				`SELECT id, message_id, type, data, created_at FROM events
				 WHERE workspace_id = ?1 AND recipient IN (?2, ?3) AND message_id IN (${recent})
				 ORDER BY created_at DESC, id DESC LIMIT ${HISTORY_EVENTS}`,
			)
			.bind(workspaceId, email, asSent),
		db
			.prepare(
				`SELECT reason, expires_at, 'workspace' AS list FROM suppressions
				   WHERE workspace_id = ?1 AND email = ?2 AND (expires_at IS NULL OR expires_at > ?3)
				 UNION ALL SELECT reason, expires_at, 'platform' FROM platform_suppressions
				   WHERE email = ?2 AND (expires_at IS NULL OR expires_at > ?3)
				 LIMIT 1`,
			)
			.bind(workspaceId, email, now),
	]);
	return {
		row: (rows?.results?.[0] as RecipientRecord | undefined) ?? null,
		deliveries: (deliveries?.results ?? []) as DeliveryRecord[],
		events: (events?.results ?? []) as HistoryEvent[],
		suppression: (suppression?.results?.[0] as SuppressionState | undefined) ?? null,
	};
}

export type RecipientFilter = {
	status?: RecipientStatus | undefined;
	prefix?: string | undefined;
	domain?: string | undefined;
	/** Exclusive: the last address of the previous page. */
	afterEmail?: string | undefined;
};

/** In address order (the unique index), one page and whether more follow. */
export async function listRecipients(
	db: D1Database,
	workspaceId: string,
	filter: RecipientFilter,
	limit: number,
): Promise<{ rows: RecipientRecord[]; hasMore: boolean }> {
	const where = ["workspace_id = ?1"];
	const binds: (string | number)[] = [workspaceId];
	const add = (sql: string, value: string | number) => {
		binds.push(value);
		where.push(sql.replace("?", `?${binds.length}`));
	};
	if (filter.status) add("status = ?", filter.status);
	if (filter.prefix) {
		add("email >= ?", filter.prefix);
		add("email < ?", `${filter.prefix}\u{10ffff}`);
	}
	if (filter.domain) add("substr(email, instr(email, '@') + 1) = ?", filter.domain);
	if (filter.afterEmail) add("email > ?", filter.afterEmail);
	binds.push(limit + 1);
	const { results } = await db
		.prepare(`SELECT ${COLUMNS} FROM recipients WHERE ${where.join(" AND ")} ORDER BY email LIMIT ?${binds.length}`)
		.bind(...binds)
		.all<RecipientRecord>();
	return { rows: results.slice(0, limit), hasMore: results.length > limit };
}

export type RecipientPatch = {
	status?: RecipientStatus | undefined;
	name?: string | null | undefined;
	/** Replaces the custom fields when given. */
	fields?: Record<string, string> | undefined;
};

/**
 * PUT /v1/recipients/{email}: the row (created when new) and the suppression change its status
 * implies, in one D1 batch; answers the row as stored.
 */
export async function putRecipient(
	db: D1Database,
	workspaceId: string,
	email: string,
	patch: RecipientPatch,
	suppression: D1PreparedStatement | null,
	now: number,
): Promise<RecipientRecord> {
	const fields = patch.fields === undefined ? null : JSON.stringify(patch.fields);
	const results = await db.batch([
		db
			.prepare(
				`INSERT INTO recipients (id, workspace_id, email, name, status, metadata, created_at, updated_at)
				 VALUES (?1, ?2, ?3, ?4, COALESCE(?5, 'active'), COALESCE(?6, '{}'), ?7, ?7)
				 ON CONFLICT(workspace_id, email) DO UPDATE SET
				   name = CASE WHEN ?8 = 1 THEN excluded.name ELSE recipients.name END,
				   status = COALESCE(?5, recipients.status), metadata = COALESCE(?6, recipients.metadata),
				   updated_at = excluded.updated_at
				 RETURNING ${COLUMNS}`,
			)
			.bind(
				newId("rcp"),
				workspaceId,
				email,
				patch.name ?? null,
				patch.status ?? null,
				fields,
				now,
				patch.name === undefined ? 0 : 1,
			),
		...(suppression ? [suppression] : []),
	]);
	const row = results[0]?.results?.[0] as RecipientRecord | undefined;
	if (!row) throw new Error("recipient upsert returned no row");
	return row;
}
