// Renders an accepted message as RFC 5322 MIME with mimetext. Bcc recipients are envelope-only and
// never appear in the headers.
import { createMimeMessage } from "mimetext/browser";
import { domainOf, formatMailbox } from "../lib/address";
import { toBase64, utf8 } from "../lib/encoding";
import type { OutgoingMessage } from "./types";

/** Headers the relay writes itself; a custom header may not replace them. */
export const RESERVED_HEADERS = new Set([
	"from",
	"to",
	"cc",
	"bcc",
	"subject",
	"date",
	"message-id",
	"mime-version",
	"content-type",
	"content-transfer-encoding",
	"reply-to",
]);

export function messageIdHeader(outgoing: OutgoingMessage): string {
	return `<${outgoing.id.toLowerCase()}@${domainOf(outgoing.message.from.email)}>`;
}

const box = (m: { email: string; name?: string | undefined }) =>
	m.name ? { addr: m.email, name: m.name } : { addr: m.email };

export function renderMime(outgoing: OutgoingMessage, now = new Date()): string {
	const { message } = outgoing;
	const mime = createMimeMessage();
	mime.setSender(box(message.from));
	if (message.to.length > 0) mime.setTo(message.to.map(box));
	if (message.cc.length > 0) mime.setCc(message.cc.map(box));
	mime.setSubject(message.subject);
	mime.setHeader("Message-ID", messageIdHeader(outgoing));
	mime.setHeader("Date", now.toUTCString().replace("GMT", "+0000"));
	mime.setHeader("X-Mail-Queue-ID", outgoing.id);
	for (const [name, value] of Object.entries(message.headers)) {
		if (!RESERVED_HEADERS.has(name.toLowerCase())) mime.setHeader(name, value);
	}
	if (message.text !== undefined) mime.addMessage({ contentType: "text/plain", data: message.text });
	if (message.html !== undefined) mime.addMessage({ contentType: "text/html", data: message.html });
	// mimetext takes a single Reply-To mailbox; the API allows several, so the header is written here.
	const replyTo = message.replyTo.length > 0 ? `Reply-To: ${message.replyTo.map(mailboxText).join(", ")}\r\n` : "";
	return replyTo + mime.asRaw();
}

/** A mailbox as header text, with a non-ASCII display name as an RFC 2047 encoded word. */
function mailboxText(m: { email: string; name?: string | undefined }): string {
	if (!m.name) return m.email;
	if (/^[\x20-\x7e]*$/.test(m.name)) return formatMailbox({ email: m.email, name: m.name });
	return `=?utf-8?B?${toBase64(utf8.encode(m.name))}?= <${m.email}>`;
}
