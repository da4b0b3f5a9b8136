// Received mail parsed with postal-mime into the fields the relay stores in D1 and posts to an
// inbound route's webhook; the raw bytes stay in R2 and are the truth.
import PostalMime, { type Email, type Address as PostalAddress } from "postal-mime";
import type { Address, InboundAttachment } from "../../db/schema";

/** postal-mime's guard against header floods (as for SMTP submissions). */
const MAX_HEADERS_SIZE = 256 * 1024;
/** The text part kept in D1; the whole message is in R2. */
export const MAX_STORED_TEXT = 64 * 1024;

/** Headers kept in D1 and in the webhook payload (lower case). */
const KEPT_HEADERS = [
	"message-id",
	"in-reply-to",
	"references",
	"date",
	"reply-to",
	"cc",
	"auto-submitted",
	"precedence",
	"list-id",
	"x-auto-response-suppress",
	"authentication-results",
	"dkim-signature",
	"received-spf",
] as const;

export type ParsedInbound = {
	from: Address | null;
	to: Address[];
	subject: string | null;
	text: string | null;
	html: string | null;
	attachments: InboundAttachment[];
	headers: Record<string, string>;
};

function mailboxes(list: readonly PostalAddress[] | undefined): Address[] {
	return (list ?? [])
		.flatMap((a) => a.group ?? [a])
		.flatMap((m) => (m.address ? [m.name ? { email: m.address, name: m.name } : { email: m.address }] : []));
}

export function parseRawMime(raw: Uint8Array): Promise<Email> {
	return PostalMime.parse(raw, { maxHeadersSize: MAX_HEADERS_SIZE, attachmentEncoding: "arraybuffer" });
}

const sizeOf = (content: ArrayBuffer | Uint8Array | string) =>
	typeof content === "string" ? new TextEncoder().encode(content).byteLength : content.byteLength;

/** The stored fields of a message; a message postal-mime cannot read at all is kept with empty fields. */
export async function parseInbound(raw: Uint8Array): Promise<ParsedInbound> {
	let email: Email;
	try {
		email = await parseRawMime(raw);
	} catch {
		return { from: null, to: [], subject: null, text: null, html: null, attachments: [], headers: {} };
	}
	const headers: Record<string, string> = {};
	for (const h of email.headers) {
		const key = h.key.toLowerCase();
		if ((KEPT_HEADERS as readonly string[]).includes(key) && headers[key] === undefined) headers[key] = h.value;
	}
	const [from] = mailboxes(email.from ? [email.from] : undefined);
	return {
		from: from ?? null,
		to: mailboxes(email.to),
		subject: email.subject ?? null,
		text: email.text ?? null,
		html: email.html ?? null,
		attachments: email.attachments.map((a) => ({
			filename: a.filename,
			content_type: a.mimeType,
			size: sizeOf(a.content),
			content_id: a.contentId ?? null,
		})),
		headers,
	};
}
