// Reading emails back. An id the API issued but the consumer has not materialized yet reads as
// `queued` (DESIGN.md "Write path"): the id's HMAC tag proves it was accepted for this workspace.

import type { Db } from "../../db/client";
import type { MessageDetail, MessageRow } from "../../db/repositories/messages";
import { findMessage, listMessages, type MessageFilter } from "../../db/repositories/messages";
import type { MessageStatus } from "../../db/schema";
import { ulidTime, verifyMessageId } from "../../lib/ids";
import { DAY, iso } from "../../lib/time";
import { returnPathFor, type VerpConfig } from "../inbound/verp";

/** How long an accepted id may read as `queued` without a row before it is treated as unknown. */
export const PENDING_WINDOW_MS = 7 * DAY;

type MailboxOut = { email: string; name: string | null };

export type EmailView = {
	id: string;
	status: MessageStatus;
	from: MailboxOut | null;
	to: MailboxOut[];
	cc: MailboxOut[];
	bcc: MailboxOut[];
	reply_to: MailboxOut[];
	subject: string | null;
	tags: string[];
	metadata: Record<string, string>;
	sandbox: boolean | null;
	/** How it arrived (null until materialized), and the SMTP client's IP when the bridge reported it. */
	source: "api" | "smtp" | "scheduled" | null;
	client_ip: string | null;
	attempts: number;
	last_error: string | null;
	provider_message_id: string | null;
	created_at: string;
	sent_at: string | null;
	events: { type: string; created_at: string; recipient: string | null; data: Record<string, unknown> }[];
	/** Each envelope recipient with its status and where its bounce will arrive (VERP). */
	recipients?: RecipientView[];
};

export type RecipientView = {
	email: string;
	kind: "to" | "cc" | "bcc";
	status: MessageStatus;
	return_path: string;
};

function pendingView(id: string, acceptedAt: number): EmailView {
	return {
		id,
		status: "queued",
		from: null,
		to: [],
		cc: [],
		bcc: [],
		reply_to: [],
		subject: null,
		tags: [],
		metadata: {},
		sandbox: null,
		source: null,
		client_ip: null,
		attempts: 0,
		last_error: null,
		provider_message_id: null,
		created_at: iso(acceptedAt),
		sent_at: null,
		events: [{ type: "queued", created_at: iso(acceptedAt), recipient: null, data: {} }],
	};
}

const out = (m: { email: string; name?: string | null | undefined }): MailboxOut => ({
	email: m.email,
	name: m.name ?? null,
});

async function detailView({ message, recipients, events }: MessageDetail, verp: VerpConfig): Promise<EmailView> {
	const of = (kind: "to" | "cc" | "bcc") => recipients.filter((r) => r.kind === kind).map(out);
	const all = recipients.map((r) => r.email);
	const views = await Promise.all(
		recipients.map(async (r) => ({
			email: r.email,
			kind: r.kind,
			status: r.status,
			return_path: await returnPathFor(verp, {
				messageId: message.id,
				fromEmail: message.fromEmail,
				messageRecipients: all,
				recipient: r.email,
			}),
		})),
	);
	return {
		...summaryFields(message),
		to: of("to"),
		cc: of("cc"),
		bcc: of("bcc"),
		reply_to: message.replyTo.map(out),
		events: events.map((e) => ({ type: e.type, created_at: iso(e.createdAt), recipient: e.recipient, data: e.data })),
		recipients: views,
	};
}

function summaryFields(m: MessageRow) {
	return {
		id: m.id,
		status: m.status,
		from: { email: m.fromEmail, name: m.fromName },
		subject: m.subject,
		tags: m.tags,
		metadata: m.metadata,
		sandbox: m.sandbox,
		source: m.source,
		client_ip: m.clientIp,
		attempts: m.attempts,
		last_error: m.lastError,
		provider_message_id: m.providerMessageId,
		created_at: iso(m.createdAt),
		sent_at: iso(m.sentAt),
	};
}

export type ReadDeps = { db: Db; signingKey: string; now: number; bounceDomain?: string | undefined };

/** The email, or null when the id is unknown to this workspace (forged, foreign or long gone). */
export async function getEmail(deps: ReadDeps, workspaceId: string, id: string): Promise<EmailView | null> {
	if (!(await verifyMessageId(deps.signingKey, workspaceId, id))) return null;
	const detail = await findMessage(deps.db, workspaceId, id);
	if (detail) return detailView(detail, { signingKey: deps.signingKey, bounceDomain: deps.bounceDomain });
	const acceptedAt = ulidTime(id);
	if (acceptedAt === null || deps.now - acceptedAt > PENDING_WINDOW_MS || acceptedAt > deps.now + 60_000) return null;
	return pendingView(id, acceptedAt);
}

/** The stored row, only for an id of this workspace (used by /content). */
export async function getMessageRow(deps: ReadDeps, workspaceId: string, id: string): Promise<MessageRow | null> {
	if (!(await verifyMessageId(deps.signingKey, workspaceId, id))) return null;
	return (await findMessage(deps.db, workspaceId, id))?.message ?? null;
}

export type EmailPage = {
	data: Omit<EmailView, "events" | "cc" | "bcc" | "reply_to">[];
	has_more: boolean;
	next_cursor: string | null;
};

export async function listEmails(
	deps: ReadDeps,
	workspaceId: string,
	filter: MessageFilter,
	limit: number,
): Promise<EmailPage> {
	const { rows, hasMore } = await listMessages(deps.db, workspaceId, filter, limit);
	const last = rows.at(-1);
	return {
		data: rows.map((m) => ({
			...summaryFields(m),
			to: m.toList ? (JSON.parse(m.toList) as MailboxOut[]) : [],
		})),
		has_more: hasMore,
		next_cursor: hasMore && last ? last.id : null,
	};
}
