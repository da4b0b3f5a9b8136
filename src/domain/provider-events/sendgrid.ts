// SendGrid's signed Event Webhook (twilio.com/docs/sendgrid "Event Webhook Security Features"): an
// ECDSA P-256 / SHA-256 signature over timestamp + raw body, base64 DER in
// X-Twilio-Email-Event-Webhook-Signature, the timestamp in X-Twilio-Email-Event-Webhook-Timestamp,
// verified with the public key (base64 DER SubjectPublicKeyInfo) from the Mail Settings page.
// The body is a JSON array of events; our id comes back as the `mq_message_id` custom arg.
import { ApiError, err, ok, type Result } from "../../errors";
import { fromBase64, utf8 } from "../../lib/encoding";
import { LruMap } from "../../lib/lru";
import { bounceKind, type FeedbackKind } from "../feedback/model";
import { derSignatureToRaw } from "./der";
import { reasonOf, statusIn } from "./reasons";
import { isRecord, OUR_ID_KEY, type ProviderEvent, str, WEBHOOK_TOLERANCE_MS } from "./types";

export const SENDGRID_SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature";
export const SENDGRID_TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp";

const refused = (message: string) => new ApiError("unauthorized", message);

// Importing a key costs more than verifying with it; keys are kept per isolate, bounded.
const keys = new LruMap<string, Promise<CryptoKey>>(64);

function publicKey(spkiBase64: string): Promise<CryptoKey> {
	let key = keys.get(spkiBase64);
	if (!key) {
		key = crypto.subtle
			.importKey(
				"spki",
				fromBase64(spkiBase64.replace(/-----[A-Z ]+-----|\s/g, "")),
				{ name: "ECDSA", namedCurve: "P-256" },
				false,
				["verify"],
			)
			.catch((error: unknown) => {
				// A key that does not import is not kept, so correcting the gateway's key takes effect.
				keys.delete(spkiBase64);
				throw error;
			});
		keys.set(spkiBase64, key);
	}
	return key;
}

export async function verifySendgrid(
	headers: Headers,
	body: string,
	spkiBase64: string,
	now: number,
): Promise<Result<Record<string, unknown>[]>> {
	const signature = headers.get(SENDGRID_SIGNATURE_HEADER);
	const timestamp = headers.get(SENDGRID_TIMESTAMP_HEADER);
	if (!signature || !timestamp) return err(refused("The SendGrid signature headers are missing."));
	let valid = false;
	try {
		const raw = derSignatureToRaw(fromBase64(signature), 32);
		valid =
			raw !== null &&
			(await crypto.subtle.verify(
				{ name: "ECDSA", hash: "SHA-256" },
				await publicKey(spkiBase64),
				raw,
				utf8.encode(timestamp + body),
			));
	} catch {
		valid = false;
	}
	if (!valid) return err(refused("The SendGrid signature does not match."));
	const seconds = Number(timestamp);
	if (!Number.isFinite(seconds) || Math.abs(now - seconds * 1000) > WEBHOOK_TOLERANCE_MS) {
		return err(refused("The SendGrid signature timestamp is stale."));
	}
	let events: unknown;
	try {
		events = JSON.parse(body);
	} catch {
		return err(new ApiError("invalid_json", "The SendGrid body is not JSON."));
	}
	if (!Array.isArray(events)) return err(new ApiError("validation_error", "The SendGrid body is not an event array."));
	return ok(events.filter(isRecord));
}

type Conversion = { kind: FeedbackKind; reason?: ProviderEvent["reason"] };

/** SendGrid's bounce_classification (its own taxonomy) where it is more precise than the words. */
const CLASSIFICATION: Record<string, ProviderEvent["reason"]> = {
	"Invalid Address": "user_unknown",
	"Mailbox Unavailable": "user_unknown",
	Reputation: "blocked",
	Content: "spam",
	"Frequency or Volume": "too_many_connections",
	Technical: "system",
};

function conversion(e: Record<string, unknown>, status: string | undefined, diagnostic: string | undefined) {
	switch (e.event) {
		case "delivered":
			return { kind: "send" } satisfies Conversion;
		case "deferred":
			return { kind: "deferral", reason: reasonOf(status, diagnostic) } satisfies Conversion;
		case "bounce": {
			const classified = CLASSIFICATION[str(e.bounce_classification) ?? ""];
			const reason = classified ?? reasonOf(status, diagnostic);
			// `type: blocked` is SendGrid's word for a refusal of the sender, not of the address.
			if (e.type === "blocked" && !classified) return { kind: "reject", reason: "blocked" } satisfies Conversion;
			return { kind: bounceKind(reason, status ?? "5.0.0"), reason } satisfies Conversion;
		}
		case "dropped":
			// SendGrid did not send: an address on its bounce list is dead, anything else is refused.
			return str(e.reason)?.match(/bounced address|invalid/i)
				? ({ kind: "hard_bounce", reason: "user_unknown" } satisfies Conversion)
				: ({ kind: "reject", reason: "filtered" } satisfies Conversion);
		case "open":
			return { kind: "open" } satisfies Conversion;
		case "click":
			return { kind: "click" } satisfies Conversion;
		case "spamreport":
			return { kind: "spam" } satisfies Conversion;
		case "unsubscribe":
		case "group_unsubscribe":
			return { kind: "unsub" } satisfies Conversion;
		default:
			// processed, group_resubscribe: nothing a recipient's state follows.
			return null;
	}
}

export function sendgridEvents(events: readonly Record<string, unknown>[], now: number): ProviderEvent[] {
	const out: ProviderEvent[] = [];
	for (const e of events) {
		const recipient = str(e.email);
		const id = str(e.sg_event_id);
		if (!recipient || !id) continue;
		const diagnostic = str(e.response) ?? str(e.reason);
		const status = str(e.status) ?? statusIn(diagnostic);
		const converted = conversion(e, status, diagnostic);
		if (!converted) continue;
		const failure = "reason" in converted;
		// sg_message_id is the X-Message-Id the send answered, followed by `.filter…`.
		const providerId = str(e.sg_message_id)?.split(".")[0];
		out.push({
			messageId: str(e[OUR_ID_KEY]) ?? null,
			providerMessageId: providerId ?? null,
			recipient: recipient.toLowerCase(),
			kind: converted.kind,
			reason: failure ? converted.reason : undefined,
			status: failure ? status : undefined,
			diagnostic: failure ? diagnostic : undefined,
			sourceEventId: `sendgrid:${id}`,
			url: converted.kind === "click" ? str(e.url) : undefined,
			at: typeof e.timestamp === "number" ? e.timestamp * 1000 : now,
		});
	}
	return out;
}
