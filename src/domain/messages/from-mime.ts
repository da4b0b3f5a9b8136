// A message received over SMTP (raw RFC 5322 bytes plus the SMTP envelope) → the same send input
// validateSend takes from POST /v1/emails, and the idempotency key that makes a client's retry after
// a lost 250 a no-op. The envelope decides who receives the mail, as in any MTA: a header address
// that is not an envelope recipient receives nothing, an envelope recipient not in To/Cc is a Bcc.
// Attached and inline parts become the send input's `attachments` (naming rules: attachmentOf).
// The client's text itself is kept too and is what gets delivered (raw mode, docs/smtp.md).
import PostalMime, { type Address, type Attachment, type Email } from "postal-mime";
import { ApiError, err, ok, type Result } from "../../errors";
import { formatMailbox, type Mailbox, normalizeEmail } from "../../lib/address";
import { sha256Hex } from "../../lib/crypto";
import { toBase64, utf8, utf8Length } from "../../lib/encoding";
import { splitRaw } from "../delivery/raw-mime";
import { headerRefusal, MAX_HEADER_LINE_OCTETS } from "./headers";
import { MAX_ATTACHMENTS, MAX_RECIPIENTS } from "./validate";

export type SmtpEnvelope = { mailFrom: string; rcptTo: readonly string[] };

export type MimeSubmission = {
	/** The send request, as POST /v1/emails would have received it. */
	input: Record<string, unknown>;
	/** X-Idempotency-Key, else one derived from Message-ID and the envelope; null when neither. */
	idempotencyKey: string | null;
	/**
	 * The message as received, delivered as sent with only the relay's header changes; null when raw
	 * mode cannot carry it (not UTF-8, or not CRLF throughout), and the parts are rendered instead.
	 */
	raw: string | null;
};

/** Used when the message has no Subject: mail without one is valid SMTP, the API needs one. */
export const NO_SUBJECT = "(no subject)";

/** Control headers read by the relay and never delivered (docs/smtp.md). Lower case. */
const CONTROL_HEADERS = new Set(["x-tags", "x-metadata", "x-idempotency-key", "x-queue", "x-user-id"]);

/** postal-mime's own guard against header floods; the API's body limit bounds the rest. */
const MAX_HEADERS_SIZE = 256 * 1024;

const refuse = (message: string, path = "raw") => err(new ApiError("validation_error", message, [{ path, message }]));

function mailboxesOf(addresses: readonly Address[] | undefined): Mailbox[] {
	return (addresses ?? [])
		.flatMap((a) => a.group ?? [a])
		.flatMap((m) => (m.address ? [m.name ? { email: m.address, name: m.name } : { email: m.address }] : []));
}

/** Envelope addresses compare case-insensitively in the domain only, as normalizeEmail stores them. */
const keyOf = (email: string) => normalizeEmail(email.trim());

/** Header To/Cc limited to the envelope, each recipient once; the rest of the envelope is Bcc. */
function recipients(email: Email, rcptTo: readonly string[]) {
	const pending = new Map<string, string>();
	for (const r of rcptTo) if (!pending.has(keyOf(r))) pending.set(keyOf(r), r.trim());
	const take = (list: Mailbox[]) =>
		list.flatMap((m) => {
			const key = keyOf(m.email);
			if (!pending.has(key)) return [];
			pending.delete(key);
			return [formatMailbox(m)];
		});
	const to = take(mailboxesOf(email.to));
	const cc = take(mailboxesOf(email.cc));
	return { to, cc, bcc: [...pending.values()] };
}

/**
 * References may grow past one line in long threads; RFC 5322 §3.6.4 lets a writer keep the first
 * and the last ids, so the oldest ancestors are dropped from the middle until it fits.
 */
function fitReferences(value: string, name: string): string {
	const ids = value.split(/\s+/).filter(Boolean);
	const fits = (list: string[]) => utf8Length(name) + 2 + utf8Length(list.join(" ")) <= MAX_HEADER_LINE_OCTETS;
	while (ids.length > 2 && !fits(ids)) ids.splice(1, 1);
	return ids.join(" ");
}

type Custom = { headers: Record<string, string>; control: Map<string, string> };

/** Headers a client may set pass through; relay-written and transport headers are dropped. */
function customHeaders(email: Email): Custom {
	const headers: Record<string, string> = {};
	const control = new Map<string, string>();
	const seen = new Set<string>();
	for (const h of email.headers) {
		if (seen.has(h.key)) continue; // the first occurrence wins, as for Subject and From
		seen.add(h.key);
		const value = h.value.trim();
		if (CONTROL_HEADERS.has(h.key)) control.set(h.key, value);
		else if (headerRefusal(h.originalKey) === null) {
			headers[h.originalKey] = h.key === "references" ? fitReferences(value, h.originalKey) : value;
		}
	}
	return { headers, control };
}

/** Extensions for parts that name no file, so the recipient's client can still open them. */
const EXTENSIONS: Record<string, string> = {
	"application/pdf": "pdf",
	"image/png": "png",
	"image/jpeg": "jpg",
	"image/gif": "gif",
	"image/webp": "webp",
	"image/svg+xml": "svg",
	"text/plain": "txt",
	"text/csv": "csv",
	"text/calendar": "ics",
	"text/html": "html",
	"message/rfc822": "eml",
};

const CALENDARS = new Set(["text/calendar", "application/ics"]);
const UNSAFE_IN_NAME = new Set(['"', "\\", "/"]);
const safeName = (name: string) =>
	[...name]
		.map((ch) => (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f || UNSAFE_IN_NAME.has(ch) ? "_" : ch))
		.join("")
		.trim();

/**
 * A MIME part → the /v1 attachment. The API needs a file name, and SMTP clients do not always send
 * one (a calendar invitation, a forwarded message): such a part is named `attachment-<n>.<ext>`.
 * Characters the API refuses in a name (quotes, slashes, controls) become `_`, as a mail client
 * saving the file would do. A Content-ID is kept only on inline or related parts: on a plain
 * attachment it references nothing, and /v1 would render the file inline.
 */
function attachmentOf(part: Attachment, index: number): Record<string, string> {
	const ext = EXTENSIONS[part.mimeType] ?? "bin";
	const named = part.filename ? safeName(part.filename) : "";
	let bytes = typeof part.content === "string" ? utf8.encode(part.content) : new Uint8Array(part.content);
	if (CALENDARS.has(part.mimeType)) {
		// postal-mime hands calendars back with LF line ends; RFC 5545 §3.1 delimits content lines with
		// CRLF, and strict calendar clients refuse an invitation without them.
		bytes = utf8.encode(new TextDecoder().decode(bytes).replace(/\r?\n/g, "\r\n"));
	}
	const contentId = part.contentId?.trim().replace(/^<(.*)>$/, "$1");
	const inline = contentId && (part.disposition === "inline" || part.related === true);
	return {
		filename: named || `attachment-${index + 1}.${ext}`,
		content: toBase64(bytes),
		content_type: part.mimeType,
		...(inline ? { content_id: contentId } : {}),
	};
}

function parseMetadata(value: string | undefined): Result<Record<string, unknown> | undefined, ApiError> {
	if (value === undefined) return ok(undefined);
	try {
		const parsed: unknown = JSON.parse(value);
		if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return ok(parsed as Record<string, unknown>);
	} catch {
		// answered below
	}
	return refuse("X-Metadata must be a JSON object of string values", "headers.X-Metadata");
}

/**
 * One key per (Message-ID, envelope): an MTA retrying the same transaction replays the first answer,
 * while the same message split over two transactions (other recipients) is two submissions.
 */
async function derivedKey(messageId: string | undefined, envelope: SmtpEnvelope): Promise<string | null> {
	if (!messageId) return null;
	const rcpts = envelope.rcptTo.map(keyOf).sort();
	return `smtp-msgid:${await sha256Hex([messageId.trim(), keyOf(envelope.mailFrom), ...rcpts].join("\n"))}`;
}

/** The client's bytes as the text raw mode delivers, when they decode losslessly. */
function rawText(raw: Uint8Array): string | null {
	let text: string;
	try {
		text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw);
	} catch {
		return null;
	}
	return splitRaw(text) ? text : null;
}

export async function parseSubmission(
	raw: Uint8Array,
	envelope: SmtpEnvelope,
): Promise<Result<MimeSubmission, ApiError>> {
	if (envelope.rcptTo.length > MAX_RECIPIENTS) {
		return refuse(`at most ${MAX_RECIPIENTS} recipients (RCPT TO) per message`, "rcpt_to");
	}
	let email: Email;
	try {
		email = await PostalMime.parse(raw, { maxHeadersSize: MAX_HEADERS_SIZE, attachmentEncoding: "arraybuffer" });
	} catch (error) {
		return refuse(`The message is not a parsable RFC 5322 message: ${(error as Error).message}`);
	}
	const from = mailboxesOf(email.from ? [email.from] : [])[0];
	if (!from) return refuse("The message has no From header with an address", "headers.From");
	if (email.attachments.length > MAX_ATTACHMENTS) {
		// Refusing beats delivering the message without some of the files its sender attached.
		return refuse(
			`The message has ${email.attachments.length} attachments or inline parts; at most ${MAX_ATTACHMENTS} per message.`,
			"attachments",
		);
	}
	const attachments = email.attachments.map(attachmentOf);
	const { headers, control } = customHeaders(email);
	// X-User-ID is the rate-limit sender (rate-limits/model.ts senderKey), read from the headers as on
	// POST /v1/emails; raw mode never delivers it.
	const userId = control.get("x-user-id");
	if (userId) headers["X-User-ID"] = userId;
	const queue = control.get("x-queue");
	const metadata = parseMetadata(control.get("x-metadata"));
	if (!metadata.ok) return metadata;
	const tagHeader = control.get("x-tags");
	const tags = tagHeader
		?.split(",")
		.map((t) => t.trim())
		.filter(Boolean);
	const replyTo = mailboxesOf(email.replyTo).map(formatMailbox);
	const input: Record<string, unknown> = {
		from: formatMailbox(from),
		...recipients(email, envelope.rcptTo),
		...(replyTo.length > 0 ? { reply_to: replyTo } : {}),
		subject: email.subject?.trim() ? email.subject : NO_SUBJECT,
		...(email.html !== undefined ? { html: email.html } : {}),
		// A message with neither part is an empty text message, not an invalid one.
		...(email.text !== undefined || email.html === undefined ? { text: email.text ?? "" } : {}),
		...(Object.keys(headers).length > 0 ? { headers } : {}),
		...(tags !== undefined ? { tags } : {}),
		...(metadata.value !== undefined ? { metadata: metadata.value } : {}),
		...(attachments.length > 0 ? { attachments } : {}),
		...(queue ? { queue } : {}),
	};
	const explicit = control.get("x-idempotency-key");
	const idempotencyKey = explicit || (await derivedKey(email.messageId, envelope));
	return ok({ input, idempotencyKey, raw: rawText(raw) });
}
