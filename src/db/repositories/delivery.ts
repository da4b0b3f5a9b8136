// The send consumer's D1 access: one D1 batch (one transaction, one round trip) to materialize and
// claim a queue batch, one to record its results. Rows travel as JSON parameters read with json_each,
// which keeps every statement under D1's 100-bound-parameter limit whatever the batch size; message
// rows, which carry bodies, are split so no parameter nears D1's 2 MB string limit.

import { utf8Length } from "../../lib/encoding";
import { count } from "../../lib/metrics";
import type { GatewayType, MessageStatus } from "../schema";

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
	created_at: number;
};

export type RecipientRow = { m: string; k: "to" | "cc" | "bcc"; e: string; n: string | null };

export type ClaimedState = { id: string; status: MessageStatus; attempts: number };

export type GatewayRow = { id: string; workspace_id: string; type: GatewayType };

export type MaterializeResult = {
	/** Current state of every id of the batch that exists in D1 after the batch. */
	states: Map<string, ClaimedState>;
	/** Enabled gateways of the batch's workspaces, best priority first. */
	gateways: GatewayRow[];
};

const CLAIMABLE = "('queued','deferred','processing')";

export async function materializeAndClaim(
	db: D1Database,
	rows: MaterializeRow[],
	recipients: RecipientRow[],
	ids: string[],
	now: number,
): Promise<MaterializeResult> {
	const idsJson = JSON.stringify(ids);
	const workspacesJson = JSON.stringify([...new Set(rows.map((r) => r.workspace_id))]);
	const inIds = "SELECT value FROM json_each(?1)";
	// Bodies make the rows large: they are bound in chunks that each stay under D1's 2 MB string limit.
	const inserts = chunkJson(rows, MAX_PARAM_BYTES).map((chunk) =>
		// Messages of a deleted workspace are skipped rather than failing the whole transaction.
		db
			.prepare(
				`INSERT INTO messages (id, workspace_id, api_key_id, source, sandbox, from_email, from_name, reply_to, subject,
				   html, text, headers, tags, metadata, content_key, status, created_at, updated_at)
				 SELECT json_extract(value,'$.id'), json_extract(value,'$.workspace_id'), json_extract(value,'$.api_key_id'), 'api',
				   json_extract(value,'$.sandbox'), json_extract(value,'$.from_email'), json_extract(value,'$.from_name'),
				   json_extract(value,'$.reply_to'), json_extract(value,'$.subject'), json_extract(value,'$.html'),
				   json_extract(value,'$.text'), json_extract(value,'$.headers'), json_extract(value,'$.tags'),
				   json_extract(value,'$.metadata'), json_extract(value,'$.content_key'), 'queued',
				   json_extract(value,'$.created_at'), ?2
				 FROM json_each(?1)
				 WHERE json_extract(value,'$.workspace_id') IN (SELECT id FROM workspaces)
				 ON CONFLICT(id) DO NOTHING`,
			)
			.bind(chunk, now),
	);
	const results = await db.batch([
		...inserts,
		db
			.prepare(
				`INSERT INTO message_recipients (message_id, kind, email, name, status)
				 SELECT json_extract(value,'$.m'), json_extract(value,'$.k'), json_extract(value,'$.e'), json_extract(value,'$.n'), 'queued'
				 FROM json_each(?1)
				 WHERE json_extract(value,'$.m') IN (SELECT id FROM messages WHERE id IN (SELECT json_extract(value,'$.m') FROM json_each(?1)))
				 ON CONFLICT DO NOTHING`,
			)
			.bind(JSON.stringify(recipients)),
		db
			.prepare(
				`INSERT INTO events (id, workspace_id, message_id, type, data, created_at)
				 SELECT id || ':queued', workspace_id, id, 'queued', '{}', created_at FROM messages WHERE id IN (${inIds})
				 ON CONFLICT DO NOTHING`,
			)
			.bind(idsJson),
		db
			.prepare(
				`UPDATE messages SET status = 'processing', attempts = attempts + 1, updated_at = ?2
				 WHERE id IN (${inIds}) AND status IN ${CLAIMABLE}`,
			)
			.bind(idsJson, now),
		db
			.prepare(
				`INSERT INTO events (id, workspace_id, message_id, type, data, created_at)
				 SELECT id || ':processing:' || attempts, workspace_id, id, 'processing', json_object('attempt', attempts), ?2
				 FROM messages WHERE id IN (${inIds}) AND status = 'processing'
				 ON CONFLICT DO NOTHING`,
			)
			.bind(idsJson, now),
		db
			.prepare(
				`UPDATE message_recipients SET status = 'processing' WHERE message_id IN (${inIds})
				 AND message_id IN (SELECT id FROM messages WHERE id IN (${inIds}) AND status = 'processing')`,
			)
			.bind(idsJson),
		db.prepare(`SELECT id, status, attempts FROM messages WHERE id IN (${inIds})`).bind(idsJson),
		db
			.prepare(
				`SELECT id, workspace_id, type FROM gateways
				 WHERE enabled = 1 AND workspace_id IN (SELECT value FROM json_each(?1))
				 ORDER BY priority, id`,
			)
			.bind(workspacesJson),
	]);
	count("d1_write_batches_total");
	const states = new Map<string, ClaimedState>();
	for (const row of (results.at(-2)?.results ?? []) as ClaimedState[]) states.set(row.id, row);
	return { states, gateways: (results.at(-1)?.results ?? []) as GatewayRow[] };
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

export type Outcome = {
	id: string;
	workspace_id: string;
	status: Extract<MessageStatus, "sent" | "deferred" | "rejected" | "failed">;
	attempt: number;
	gateway_id: string | null;
	provider_message_id: string | null;
	mime_key: string | null;
	error: string | null;
};

/** Writes every outcome of a consumer batch in one D1 batch. */
export async function recordOutcomes(db: D1Database, outcomes: Outcome[], now: number): Promise<void> {
	if (outcomes.length === 0) return;
	const json = JSON.stringify(outcomes);
	const field = (name: string) => `json_extract(r.value,'$.${name}')`;
	await db.batch([
		db
			.prepare(
				`UPDATE messages SET status = ${field("status")}, gateway_id = ${field("gateway_id")},
				   provider_message_id = COALESCE(${field("provider_message_id")}, provider_message_id),
				   mime_key = COALESCE(${field("mime_key")}, mime_key), last_error = ${field("error")},
				   sent_at = CASE WHEN ${field("status")} = 'sent' THEN ?2 ELSE sent_at END, updated_at = ?2
				 FROM json_each(?1) AS r WHERE messages.id = ${field("id")}`,
			)
			.bind(json, now),
		db
			.prepare(
				`UPDATE message_recipients SET status = ${field("status")}, last_event_at = ?2
				 FROM json_each(?1) AS r WHERE message_recipients.message_id = ${field("id")}`,
			)
			.bind(json, now),
		db
			.prepare(
				`INSERT INTO events (id, workspace_id, message_id, type, data, created_at)
				 SELECT ${field("id")} || ':' || ${field("status")} ||
				     CASE WHEN ${field("status")} = 'deferred' THEN ':' || ${field("attempt")} ELSE '' END,
				   ${field("workspace_id")}, ${field("id")}, ${field("status")},
				   json_object('attempt', ${field("attempt")}, 'gateway_id', ${field("gateway_id")},
				     'provider_message_id', ${field("provider_message_id")}, 'error', ${field("error")}),
				   ?2
				 FROM json_each(?1) AS r WHERE true
				 ON CONFLICT DO NOTHING`,
			)
			.bind(json, now),
	]);
	count("d1_write_batches_total");
}

/** Marks messages that exhausted their retries (or could not be processed) as failed, with an event. */
export async function markFailed(
	db: D1Database,
	failures: { id: string; workspace_id: string; error: string }[],
	now: number,
): Promise<void> {
	if (failures.length === 0) return;
	const json = JSON.stringify(failures);
	await db.batch([
		db
			.prepare(
				`UPDATE messages SET status = 'failed', last_error = json_extract(r.value,'$.error'), updated_at = ?2
				 FROM json_each(?1) AS r WHERE messages.id = json_extract(r.value,'$.id')
				 AND messages.status NOT IN ('sent','delivered','bounced','rejected','cancelled')`,
			)
			.bind(json, now),
		db
			.prepare(
				`UPDATE message_recipients SET status = 'failed'
				 FROM json_each(?1) AS r WHERE message_recipients.message_id = json_extract(r.value,'$.id')
				 AND message_recipients.status NOT IN ('sent','delivered','bounced','rejected','cancelled')`,
			)
			.bind(json),
		db
			.prepare(
				`INSERT INTO events (id, workspace_id, message_id, type, data, created_at)
				 SELECT m.id || ':failed', m.workspace_id, m.id, 'failed', json_object('error', json_extract(r.value,'$.error')), ?2
				 FROM json_each(?1) AS r JOIN messages m ON m.id = json_extract(r.value,'$.id') AND m.status = 'failed'
				 ON CONFLICT DO NOTHING`,
			)
			.bind(json, now),
	]);
	count("d1_write_batches_total");
}
