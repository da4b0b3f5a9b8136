// Postmark webhooks (postmarkapp.com/developer/webhooks): no signature, so the webhook URL is set up
// with HTTP basic auth credentials configured on the gateway and compared in constant time. One
// JSON record per request, its kind in `RecordType`; our id comes back in `Metadata.mq_message_id`.
import { timingSafeEqual } from "../../lib/crypto";
import { bounceKind, type FeedbackKind } from "../feedback/model";
import { reasonOf, statusIn } from "./reasons";
import { isRecord, msOf, OUR_ID_KEY, type ProviderEvent, str } from "./types";

/** True when the Authorization header is Basic with exactly these credentials. */
export function postmarkAuthorized(header: string | undefined, username: string, password: string): boolean {
	const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? "");
	let given = "";
	try {
		given = match?.[1] ? new TextDecoder().decode(Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0))) : "";
	} catch {
		given = "";
	}
	// Compared whole, so neither half's length or content leaks through timing.
	return timingSafeEqual(given, `${username}:${password}`) && given.length > 0;
}

type Conversion = { kind: FeedbackKind; reason?: ProviderEvent["reason"] };

/** Postmark bounce `Type`s → kind and reason; types that say nothing about delivery are absent. */
const BOUNCE_TYPES: Record<string, Conversion | "words"> = {
	HardBounce: "words",
	BadEmailAddress: { kind: "hard_bounce", reason: "user_unknown" },
	AddressChange: { kind: "hard_bounce", reason: "has_moved" },
	SoftBounce: { kind: "soft_bounce" },
	Transient: { kind: "deferral" },
	DnsError: { kind: "soft_bounce", reason: "network" },
	Unknown: { kind: "soft_bounce", reason: "other" },
	SpamNotification: { kind: "reject", reason: "spam" },
	VirusNotification: { kind: "reject", reason: "filtered" },
	Blocked: { kind: "reject", reason: "blocked" },
	DMARCPolicy: { kind: "reject", reason: "auth_failure" },
	SMTPApiError: { kind: "reject", reason: "rejected" },
	ChallengeVerification: { kind: "soft_bounce", reason: "filtered" },
	Unsubscribe: { kind: "unsub" },
	SpamComplaint: { kind: "spam" },
};

function bounce(record: Record<string, unknown>, status: string | undefined, diagnostic: string | undefined) {
	const mapped = BOUNCE_TYPES[str(record.Type) ?? ""];
	if (!mapped) return null;
	if (mapped === "words") {
		const reason = reasonOf(status, diagnostic);
		// Postmark already judged it permanent; words that name the sender make it a reject.
		const kind = bounceKind(reason === "other" ? "user_unknown" : reason, status ?? "5.0.0");
		return { kind, reason: reason === "other" ? "user_unknown" : reason } satisfies Conversion;
	}
	if (mapped.reason || (mapped.kind !== "soft_bounce" && mapped.kind !== "deferral")) return mapped;
	return { kind: mapped.kind, reason: reasonOf(status, diagnostic) } satisfies Conversion;
}

function conversion(record: Record<string, unknown>, status?: string, diagnostic?: string): Conversion | null {
	switch (record.RecordType) {
		case "Delivery":
			return { kind: "send" };
		case "Bounce":
			return bounce(record, status, diagnostic);
		case "SpamComplaint":
			return { kind: "spam" };
		case "Open":
			return { kind: "open" };
		case "Click":
			return { kind: "click" };
		case "SubscriptionChange":
			// Only a recipient's own unsubscribe; bounce and complaint suppressions arrive as their own records.
			return record.SuppressSending === true && record.SuppressionReason === "ManualSuppression"
				? { kind: "unsub" }
				: null;
		default:
			return null;
	}
}

/** When the record says it happened, by its type's own field. */
const TIME_FIELDS = ["DeliveredAt", "BouncedAt", "ReceivedAt", "ChangedAt"];

export function postmarkEvents(record: Record<string, unknown>, now: number): ProviderEvent[] {
	const recipient = str(record.Recipient) ?? str(record.Email);
	const providerId = str(record.MessageID);
	if (!recipient || !providerId) return [];
	const diagnostic = str(record.Details) ?? str(record.Description);
	const status = statusIn(str(record.Details));
	const converted = conversion(record, status, diagnostic);
	if (!converted) return [];
	const metadata = isRecord(record.Metadata) ? record.Metadata : {};
	const timeField = TIME_FIELDS.find((f) => typeof record[f] === "string");
	const at = msOf(timeField ? record[timeField] : undefined, now);
	const failure = converted.reason !== undefined;
	// Bounces and complaints have their own ID; the other records are unique by message, type and time.
	const id = record.ID !== undefined ? String(record.ID) : `${providerId}:${String(record.RecordType)}:${at}`;
	return [
		{
			messageId: str(metadata[OUR_ID_KEY]) ?? null,
			providerMessageId: providerId,
			recipient: recipient.toLowerCase(),
			kind: converted.kind,
			reason: converted.reason,
			status: failure ? status : undefined,
			diagnostic: failure ? diagnostic : undefined,
			sourceEventId: `postmark:${id}:${recipient.toLowerCase()}`,
			url: converted.kind === "click" ? str(record.OriginalLink) : undefined,
			at,
		},
	];
}
