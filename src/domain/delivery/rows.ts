// Converting between a message as the queue carries it and its D1 rows, both ways: materialization
// writes these rows, a redrive rebuilds the message from them.
import type { ContentRow, MaterializeRow, RecipientRow, RecipientState } from "../../db/repositories/delivery";
import type { Address } from "../../db/schema";
import { type AcceptedMessage, acceptedMessageSchema, type SendJob } from "../messages/model";

/** Content above this size stays in R2 only; D1 rows keep at most this much (DESIGN.md "Storage"). */
const D1_CONTENT_LIMIT = 256 * 1024;

export function messageRow(job: SendJob, message: AcceptedMessage | null): MaterializeRow {
	const content = (message?.html?.length ?? 0) + (message?.text?.length ?? 0);
	const inline = content <= D1_CONTENT_LIMIT;
	return {
		id: job.id,
		workspace_id: job.workspaceId,
		api_key_id: job.apiKeyId,
		sandbox: job.sandbox ? 1 : 0,
		// A job whose content is lost still leaves a row, so its failure can be seen.
		from_email: message?.from.email ?? "",
		from_name: message?.from.name ?? null,
		reply_to: JSON.stringify(message?.replyTo ?? []),
		subject: message?.subject ?? "",
		html: inline ? (message?.html ?? null) : null,
		text: inline ? (message?.text ?? null) : null,
		headers: JSON.stringify(message?.headers ?? {}),
		tags: JSON.stringify(message?.tags ?? []),
		metadata: JSON.stringify(message?.metadata ?? {}),
		content_key: job.contentKey ?? null,
		queue_id: job.queueId ?? null,
		// With a content key R2 holds the whole message, the raw text included.
		raw_mime: job.contentKey ? null : (message?.raw ?? null),
		client_ip: job.clientIp ?? null,
		source: job.source ?? "api",
		created_at: job.acceptedAt,
	};
}

export function recipientRows(id: string, message: AcceptedMessage | null): RecipientRow[] {
	if (!message) return [];
	const rows = (kind: RecipientRow["k"], list: AcceptedMessage["to"]) =>
		list.map((m) => ({ m: id, k: kind, e: m.email, n: m.name ?? null }));
	return [...rows("to", message.to), ...rows("cc", message.cc), ...rows("bcc", message.bcc)];
}

/** Reads a message's content back from R2 (large content); null when it is missing or not a message. */
export async function readStoredContent(bodies: R2Bucket, key: string): Promise<AcceptedMessage | null> {
	const stored = await bodies.get(key);
	if (!stored) return null;
	const parsed = acceptedMessageSchema.safeParse(await stored.json().catch(() => null));
	return parsed.success ? parsed.data : null;
}

/** Rebuilds a materialized message from its row and recipients (content from R2 when it is there). */
export async function messageFromRows(
	row: ContentRow,
	recipients: readonly RecipientState[],
	bodies: R2Bucket,
): Promise<AcceptedMessage | null> {
	// A content key means R2 holds the whole message (large content, or attachments D1 does not keep).
	if (row.content_key) return readStoredContent(bodies, row.content_key);
	const of = (kind: RecipientState["kind"]) =>
		recipients
			.filter((r) => r.kind === kind)
			.map((r) => (r.name ? { email: r.email, name: r.name } : { email: r.email }));
	const parsed = acceptedMessageSchema.safeParse({
		from: row.from_name ? { email: row.from_email, name: row.from_name } : { email: row.from_email },
		to: of("to"),
		cc: of("cc"),
		bcc: of("bcc"),
		replyTo: JSON.parse(row.reply_to) as Address[],
		subject: row.subject,
		...(row.html !== null ? { html: row.html } : {}),
		...(row.text !== null ? { text: row.text } : {}),
		headers: JSON.parse(row.headers) as unknown,
		tags: JSON.parse(row.tags) as unknown,
		metadata: JSON.parse(row.metadata) as unknown,
		...(row.raw_mime !== null && row.raw_mime !== undefined ? { raw: row.raw_mime } : {}),
	});
	return parsed.success ? parsed.data : null;
}
