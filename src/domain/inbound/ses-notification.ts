// Amazon SES event notifications delivered by e-mail (an SNS e-mail subscription, "AWS Notification
// Message"): the JSON body, or the SNS envelope whose `Message` is that JSON, read as a bounce or complaint.
import type { Classification, ClassifiedRecipient } from "./model";
import { classifiedRecipient } from "./recipient";

type SesRecipient = { emailAddress?: unknown; action?: unknown; status?: unknown; diagnosticCode?: unknown };
type SesNotification = {
	notificationType?: unknown;
	bounce?: { bounceType?: unknown; bounceSubType?: unknown; bouncedRecipients?: unknown };
	complaint?: { complainedRecipients?: unknown; complaintFeedbackType?: unknown };
	mail?: { commonHeaders?: { messageId?: unknown }; headers?: unknown };
};

/** The classification of an SES notification in `text`, or null when `text` is not one. */
export function parseSesNotification(text: string): Classification | null {
	if (!text.includes("notificationType")) return null;
	const notification = notificationIn(text);
	if (notification === null) return null;
	const ids = {
		originalMessageId: str(notification.mail?.commonHeaders?.messageId),
		originalQueueId: queueIdOf(notification.mail?.headers),
	};
	switch (notification.notificationType) {
		case "Bounce":
			return { kind: "bounce", recipients: bounced(notification.bounce), ...ids };
		case "Complaint": {
			const feedbackType = str(notification.complaint?.complaintFeedbackType)?.toLowerCase() ?? null;
			const recipients = list(notification.complaint?.complainedRecipients).map(
				(r): ClassifiedRecipient => ({
					recipient: (str(r.emailAddress) ?? "").toLowerCase(),
					action: "complained",
					status: null,
					reason: "spam",
					hard: false,
					diagnostic: feedbackType ? `feedback-type: ${feedbackType}` : null,
				}),
			);
			return { kind: "complaint", recipients: recipients.filter((r) => r.recipient !== ""), feedbackType, ...ids };
		}
		case "Delivery":
			return { kind: "other", recipients: [], ...ids };
		default:
			return null;
	}
}

function bounced(bounce: SesNotification["bounce"]): ClassifiedRecipient[] {
	const type = str(bounce?.bounceType) ?? "";
	const subtype = str(bounce?.bounceSubType) ?? "";
	return list(bounce?.bouncedRecipients).flatMap((r) => {
		const recipient = str(r.emailAddress)?.toLowerCase();
		if (!recipient) return [];
		const code = str(r.diagnosticCode);
		const diagnostic = code ? code.replace(/^[a-z-]+;\s*/i, "") : `${type} bounce: ${subtype}`;
		const status = str(r.status);
		const action = str(r.action) ?? (type === "Transient" ? "delayed" : "failed");
		return [
			classifiedRecipient({
				recipient,
				action,
				status: status && /^[245]\.\d+\.\d+$/.test(status) ? status : null,
				diagnostic,
			}),
		];
	});
}

function notificationIn(text: string): SesNotification | null {
	const start = text.indexOf("{");
	const end = text.lastIndexOf("}");
	if (start === -1 || end <= start) return null;
	// SNS e-mail breaks lines longer than it allows with "!", a line break and a space.
	let parsed: unknown = parseJson(text.slice(start, end + 1).replace(/!\r?\n /g, ""));
	if (isObject(parsed) && typeof parsed.Message === "string") parsed = parseJson(parsed.Message);
	return isObject(parsed) && typeof parsed.notificationType === "string" ? (parsed as SesNotification) : null;
}

function queueIdOf(headers: unknown): string | null {
	const found = list(headers).find((h) => typeof h.name === "string" && h.name.toLowerCase() === "x-mail-queue-id");
	return found ? str(found.value) : null;
}

function parseJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return null;
	}
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

function list(value: unknown): (SesRecipient & Record<string, unknown>)[] {
	return Array.isArray(value) ? value.filter(isObject) : [];
}

function str(value: unknown): string | null {
	return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}
