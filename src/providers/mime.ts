// Builds the RFC 5322 message of a rendered message with mimetext: the last step of the render
// stage. Bcc recipients are envelope-only and never appear in the headers.
import { createMimeMessage } from "mimetext/browser";
import { formatMailbox } from "../lib/address";
import { toBase64, utf8 } from "../lib/encoding";
import type { Mailbox, RenderedMessage } from "./types";

export type MimeParts = Omit<RenderedMessage, "raw">;

const box = (m: Mailbox) => (m.name ? { addr: m.email, name: m.name } : { addr: m.email });

/** Throws on what no valid message can hold (a header line break); the render stage makes that permanent. */
export function buildMime(parts: MimeParts, now = new Date()): string {
	const mime = createMimeMessage();
	mime.setSender(box(parts.from));
	if (parts.to.length > 0) mime.setTo(parts.to.map(box));
	if (parts.cc.length > 0) mime.setCc(parts.cc.map(box));
	mime.setSubject(parts.subject);
	mime.setHeader("Message-ID", parts.messageIdHeader);
	mime.setHeader("Date", now.toUTCString().replace("GMT", "+0000"));
	for (const [name, value] of parts.headers) {
		if (/[\r\n]/.test(value)) throw new Error(`header ${name} holds a line break`);
		mime.setHeader(name, value);
	}
	if (parts.text !== undefined) mime.addMessage({ contentType: "text/plain", data: parts.text });
	if (parts.html !== undefined) mime.addMessage({ contentType: "text/html", data: parts.html });
	for (const a of parts.attachments) {
		mime.addAttachment({
			filename: a.filename,
			contentType: a.contentType,
			data: wrapBase64(a.content),
			...(a.contentId ? { inline: true, headers: { "Content-ID": `<${a.contentId}>` } } : {}),
		});
	}
	// mimetext takes a single Reply-To mailbox; the API allows several, so the header is written here.
	const replyTo = parts.replyTo.length > 0 ? `Reply-To: ${parts.replyTo.map(mailboxText).join(", ")}\r\n` : "";
	return replyTo + mime.asRaw();
}

/** Base64 in lines of 76 characters, as RFC 2045 requires of a body part. */
function wrapBase64(content: string): string {
	return content.replace(/.{76}(?=.)/g, "$&\r\n");
}

/** A mailbox as header text, with a non-ASCII display name as an RFC 2047 encoded word. */
function mailboxText(m: Mailbox): string {
	if (!m.name) return m.email;
	if (/^[\x20-\x7e]*$/.test(m.name)) return formatMailbox({ email: m.email, name: m.name });
	return `=?utf-8?B?${toBase64(utf8.encode(m.name))}?= <${m.email}>`;
}
