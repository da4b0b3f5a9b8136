// The inbound classifier: what one raw message is (bounce, complaint, auto-reply, other) and, per
// recipient, the status, reason and diagnostic. Pure: parses with postal-mime and reads nothing else.
import PostalMime, { type Attachment, type Email } from "postal-mime";
import { parseFeedbackReport } from "./arf";
import { isAutoReply } from "./auto-reply";
import { parseDeliveryStatus } from "./dsn";
import { type Fields, originalIds, parseHeaderBlock } from "./fields";
import type { Classification } from "./model";
import { looksLikeBounce, noticeText, parseVendorBounce } from "./vendor";

const DSN_TYPES = new Set(["message/delivery-status", "message/global-delivery-status"]);
const ARF_TYPES = new Set(["message/feedback-report"]);
const ORIGINAL_TYPES = new Set(["message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers"]);

export async function classify(raw: Uint8Array | ArrayBuffer | string): Promise<Classification> {
	const email = await PostalMime.parse(raw, { forceRfc822Attachments: true, attachmentEncoding: "utf8" });
	const headers = headerFields(email);
	const subject = email.subject ?? "";
	const text = bodyText(email);
	const ids = originals(email, text);

	const report = email.attachments.find((part) => ARF_TYPES.has(part.mimeType.toLowerCase()));
	if (report) {
		const original = originalPart(email);
		const parsed = parseFeedbackReport(contentOf(report), original ? parseHeaderBlock(original) : null);
		return { kind: "complaint", recipients: parsed.recipients, feedbackType: parsed.feedbackType, ...ids };
	}

	const status = email.attachments.find((part) => DSN_TYPES.has(part.mimeType.toLowerCase()));
	if (status) {
		const notice = noticeText(text);
		const dsn = parseDeliveryStatus(contentOf(status), (recipient) => hintFor(notice, recipient));
		if (dsn.bounced.length > 0) return { kind: "bounce", recipients: dsn.bounced, ...ids };
		if (dsn.others > 0) return { kind: "other", recipients: [], ...ids };
	}

	const from = email.from?.address?.toLowerCase() ?? null;
	if (looksLikeBounce(headers, from, subject)) {
		const own = new Set([from, ...(email.to ?? []).map((to) => to.address?.toLowerCase())].filter(isString));
		const recipients = parseVendorBounce(headers, subject, text, own);
		if (recipients.length > 0) return { kind: "bounce", recipients, ...ids };
	}

	if (isAutoReply(headers, subject)) return { kind: "auto_reply", recipients: [], ...ids };
	return { kind: "other", recipients: [], ...ids };
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
function hintFor(notice: string, recipient: string): string | null {
	const flat = notice.replace(/\s+/g, " ");
	const at = flat.toLowerCase().indexOf(recipient);
	if (at === -1) return null;
	const around = flat.slice(at + recipient.length, at + recipient.length + 400).trim();
	return around.length > 0 ? around : null;
}
