// Amazon SES events as SNS delivers them (docs.aws.amazon.com/ses "Amazon SNS notification contents"
// and "event publishing"): identity notifications carry `notificationType`, configuration-set event
// publishing carries `eventType` (and `mail.tags`, where the driver's `mq_message_id` tag is). Both
// become one event per named recipient.
import { bounceKind, type FeedbackKind } from "../feedback/model";
import { reasonOf, statusIn } from "./reasons";
import { bareId, isRecord, msOf, OUR_ID_KEY, type ProviderEvent, str } from "./types";

type Recipient = { email: string; status?: string | undefined; diagnostic?: string | undefined };

const records = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter(isRecord) : []);

function recipientsOf(list: unknown, field = "emailAddress"): Recipient[] {
	return records(list).flatMap((r) => {
		const email = str(r[field]);
		return email ? [{ email, status: str(r.status), diagnostic: str(r.diagnosticCode) }] : [];
	});
}

/** SES bounce sub-types (Permanent/Transient) → our reasons, where the DSN did not say more. */
const SUBTYPE_REASONS: Record<string, ProviderEvent["reason"]> = {
	General: "other",
	NoEmail: "user_unknown",
	Suppressed: "user_unknown",
	OnAccountSuppressionList: "user_unknown",
	MailboxFull: "mailbox_full",
	MessageTooLarge: "policy",
	ContentRejected: "spam",
	AttachmentRejected: "filtered",
};

/** DeliveryDelay `delayType` → our reasons. */
const DELAY_REASONS: Record<string, ProviderEvent["reason"]> = {
	InternalFailure: "system",
	MailboxFull: "mailbox_full",
	SpamDetected: "spam",
	RecipientServerError: "system",
	IPFailure: "blocked",
	TransientCommunicationFailure: "network",
	BYOIPHostNameLookupUnavailable: "network",
	SendingDeliveryQuotaExceeded: "too_many_connections",
};

type Part = Omit<ProviderEvent, "messageId" | "providerMessageId" | "sourceEventId" | "at">;

function bounceParts(bounce: Record<string, unknown>): Part[] {
	const type = str(bounce.bounceType);
	const subtypeReason = SUBTYPE_REASONS[str(bounce.bounceSubType) ?? ""];
	return recipientsOf(bounce.bouncedRecipients).map((r) => {
		const status = r.status ?? statusIn(r.diagnostic);
		const words = r.diagnostic ? reasonOf(status, r.diagnostic) : undefined;
		// A Permanent "General" bounce with no DSN is SES's "address does not exist".
		const fallback =
			type === "Permanent" && (!subtypeReason || subtypeReason === "other") ? "user_unknown" : subtypeReason;
		const reason = words && words !== "other" ? words : (fallback ?? reasonOf(status, undefined));
		const kind: FeedbackKind = type === "Permanent" ? bounceKind(reason, status ?? "5.0.0") : "soft_bounce";
		return { recipient: r.email, kind, reason, status, diagnostic: r.diagnostic };
	});
}

function parts(event: Record<string, unknown>, type: string, destination: string[]): Part[] {
	const to = (kind: FeedbackKind, extra: Partial<Part> = {}) =>
		destination.map((email) => ({ recipient: email, kind, ...extra }));
	const section = (name: string) => (isRecord(event[name]) ? (event[name] as Record<string, unknown>) : {});
	switch (type) {
		case "Bounce":
			return bounceParts(section("bounce"));
		case "Complaint": {
			const complained = recipientsOf(section("complaint").complainedRecipients);
			return complained.map((r) => ({ recipient: r.email, kind: "spam" }));
		}
		case "Delivery": {
			const delivery = section("delivery");
			const list = Array.isArray(delivery.recipients) ? delivery.recipients.filter((r) => typeof r === "string") : [];
			return list.map((email) => ({ recipient: email, kind: "send" }));
		}
		case "Reject":
			return to("reject", { reason: "filtered", diagnostic: str(section("reject").reason) });
		case "Open":
			return to("open");
		case "Click":
			return to("click", { url: str(section("click").link) });
		case "DeliveryDelay": {
			const delay = section("deliveryDelay");
			const reason = DELAY_REASONS[str(delay.delayType) ?? ""];
			return recipientsOf(delay.delayedRecipients).map((r) => {
				const status = r.status ?? statusIn(r.diagnostic);
				return {
					recipient: r.email,
					kind: "deferral",
					reason: reason ?? reasonOf(status, r.diagnostic),
					status,
					diagnostic: r.diagnostic,
				};
			});
		}
		default:
			// Send, Rendering Failure, Subscription, AmazonSnsSubscriptionSucceeded: not recipient feedback.
			return [];
	}
}

/** The SES event in an SNS Notification's `Message`, as provider events keyed by the SNS MessageId. */
export function sesEvents(snsMessageId: string, messageText: string, now: number): ProviderEvent[] {
	let event: unknown;
	try {
		event = JSON.parse(messageText);
	} catch {
		return [];
	}
	if (!isRecord(event)) return [];
	const type = str(event.eventType) ?? str(event.notificationType);
	if (!type) return [];
	const mail = isRecord(event.mail) ? event.mail : {};
	const tags = isRecord(mail.tags) ? mail.tags : {};
	const tagged = Array.isArray(tags[OUR_ID_KEY]) ? str(tags[OUR_ID_KEY][0]) : undefined;
	const destination = Array.isArray(mail.destination)
		? mail.destination.filter((d): d is string => typeof d === "string")
		: [];
	const providerId = str(mail.messageId);
	const section = isRecord(event[type.charAt(0).toLowerCase() + type.slice(1)])
		? (event[type.charAt(0).toLowerCase() + type.slice(1)] as Record<string, unknown>)
		: {};
	const at = msOf(section.timestamp, msOf(mail.timestamp, now));
	return parts(event, type, destination).map((part, index) => ({
		...part,
		recipient: part.recipient.toLowerCase(),
		messageId: tagged ?? null,
		providerMessageId: providerId ? bareId(providerId) : null,
		sourceEventId: `ses:${snsMessageId}:${index}`,
		at,
	}));
}
