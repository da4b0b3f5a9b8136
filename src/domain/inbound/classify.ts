// The inbound classifier: what one raw message is (bounce, complaint, auto-reply, other) and, per
// recipient, the status, reason and diagnostic. Pure: parses with postal-mime and reads nothing else.
import PostalMime, { type Attachment, type Email } from "postal-mime";
import { jmrpComplaint, parseFeedbackReport } from "./arf";
import { isAutoReply } from "./auto-reply";
import { parseDeliveryStatus } from "./dsn";
import { type Fields, originalIds, parseHeaderBlock } from "./fields";
import type { Classification } from "./model";
import { parseSesNotification } from "./ses-notification";
import { looksLikeBounce, noticeText, parseVendorBounce } from "./vendor";

const DSN_TYPES = new Set(["message/delivery-status", "message/global-delivery-status"]);
const ARF_TYPES = new Set(["message/feedback-report"]);
const ORIGINAL_TYPES = new Set(["message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers"]);

/**
 * Only the head of a message is read: a report's own parts come first (RFC 3464/5965: the notice, the
 * delivery-status or feedback report, then the returned original), and parsing time grows faster than
 * size, so a huge returned original is cut rather than parsed.
 */
export const CLASSIFY_MAX_BYTES = 256 * 1024;

export async function classify(input: Uint8Array | ArrayBuffer | string): Promise<Classification> {
	const raw = head(input);
	const email = await PostalMime.parse(raw, { forceRfc822Attachments: true, attachmentEncoding: "utf8" });
	const headers = headerFields(email);
	const subject = email.subject ?? "";
	const text = bodyText(email) || rawBody(raw);
	const ids = originals(email, text);

	const original = originalPart(email);
	const originalHeaders = original ? parseHeaderBlock(original) : null;
	const report = email.attachments.find((part) => ARF_TYPES.has(part.mimeType.toLowerCase()));
	if (report) {
		const parsed = parseFeedbackReport(contentOf(report), originalHeaders);
		return { kind: "complaint", recipients: parsed.recipients, feedbackType: parsed.feedbackType, ...ids };
	}

	const complaint = jmrpComplaint(headers, originalHeaders ? [originalHeaders] : []);
	if (complaint) return { ...complaint, ...ids };

	const ses = parseSesNotification(text);
	if (ses) return ses;

	const status = deliveryStatusOf(email, text);
	if (status !== null) {
		const notice = noticeText(text).replace(/\s+/g, " ");
		const lower = notice.toLowerCase();
		const dsn = parseDeliveryStatus(status, (recipient) => hintFor(notice, lower, recipient));
		if (dsn.bounced.length > 0) return { kind: "bounce", recipients: dsn.bounced, ...ids };
		if (dsn.others > 0) return { kind: "other", recipients: [], ...ids };
	}

	const from = email.from?.address?.toLowerCase() ?? null;
	if (looksLikeBounce(headers, from, subject, text)) {
		const own = new Set([from, ...(email.to ?? []).map((to) => to.address?.toLowerCase())].filter(isString));
		const recipients = parseVendorBounce(headers, subject, text, own);
		if (recipients.length > 0) return { kind: "bounce", recipients, ...ids };
	}

	if (isAutoReply(headers, subject)) return { kind: "auto_reply", recipients: [], ...ids };
	return { kind: "other", recipients: [], ...ids };
}

function head(input: Uint8Array | ArrayBuffer | string): Uint8Array | string {
	if (typeof input === "string") return input.length > CLASSIFY_MAX_BYTES ? input.slice(0, CLASSIFY_MAX_BYTES) : input;
	const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
	return bytes.byteLength > CLASSIFY_MAX_BYTES ? bytes.subarray(0, CLASSIFY_MAX_BYTES) : bytes;
}

function isString(value: string | null | undefined): value is string {
	return typeof value === "string" && value.length > 0;
}

function headerFields(email: Email): Fields {
	const fields: Fields = new Map();
	for (const header of email.headers) {
		const values = fields.get(header.key) ?? [];
		values.push(header.value);
		fields.set(header.key, values);
	}
	return fields;
}

function contentOf(part: Attachment): string {
	if (typeof part.content === "string") return part.content;
	return new TextDecoder().decode(part.content);
}

/** The human-readable text: the plain part, or the HTML part with tags dropped. */
function bodyText(email: Email): string {
	if (email.text && email.text.trim() !== "") return email.text;
	if (!email.html) return "";
	return email.html
		.replace(/<(br|p|div|tr|li)\b[^>]*>/gi, "\n")
		.replace(/<[^>]+>/g, "")
		.replace(/&nbsp;/g, " ")
		.replace(/&lt;/g, "<")
		.replace(/&gt;/g, ">")
		.replace(/&amp;/g, "&");
}

/** The message/delivery-status part, or delivery-status fields pasted into the text (broken MIME). */
function deliveryStatusOf(email: Email, text: string): string | null {
	const part = email.attachments.find((candidate) => DSN_TYPES.has(candidate.mimeType.toLowerCase()));
	if (part) return contentOf(part);
	const inline = /^(reporting-mta|final-recipient|original-recipient):/im.exec(text);
	return inline ? text.slice(inline.index) : null;
}

/** The body as sent, for a multipart message whose boundaries were lost (postal-mime finds no part). */
function rawBody(raw: Uint8Array | string): string {
	const text = typeof raw === "string" ? raw : new TextDecoder().decode(raw);
	const end = text.search(/\r?\n\r?\n/);
	return end === -1 ? "" : text.slice(end).trim();
}

function originalPart(email: Email): string | null {
	const part = email.attachments.find((candidate) => ORIGINAL_TYPES.has(candidate.mimeType.toLowerCase()));
	return part ? contentOf(part) : null;
}

/** Message-ID and X-Mail-Queue-Id of the original: from its attached copy, else quoted in the text. */
function originals(email: Email, text: string): Pick<Classification, "originalMessageId" | "originalQueueId"> {
	const part = originalPart(email);
	if (part) {
		const ids = originalIds(parseHeaderBlock(part));
		return { originalMessageId: ids.messageId, originalQueueId: ids.queueId };
	}
	const quoted = text.slice(noticeText(text).length);
	const messageId = /^\s*message-id:\s*(<[^>\s]+>)/im.exec(quoted)?.[1] ?? null;
	const queueId = /^\s*x-mail-queue-id:\s*(\S+)/im.exec(quoted)?.[1] ?? null;
	return { originalMessageId: messageId, originalQueueId: queueId };
}

/** The notice's words about one recipient, for a DSN block without Diagnostic-Code. */
function hintFor(flat: string, lower: string, recipient: string): string | null {
	const at = lower.indexOf(recipient);
	if (at === -1) return null;
	const around = flat.slice(at + recipient.length, at + recipient.length + 400).trim();
	return around.length > 0 ? around : null;
}
