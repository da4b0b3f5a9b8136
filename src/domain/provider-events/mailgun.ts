// Mailgun webhooks (documentation.mailgun.com "Securing Webhooks"): the JSON body carries
// `signature: { timestamp, token, signature }`, the hex HMAC-SHA256 of timestamp + token under the
// webhook signing key, and one `event-data`. Converted as seed 001's webhook handler does into the
// Mandrill-style kinds.
import { z } from "zod";
import { ApiError, err, ok, type Result } from "../../errors";
import { hmacSha256, timingSafeEqual } from "../../lib/crypto";
import { hex } from "../../lib/encoding";
import { bounceKind, type FeedbackKind } from "../feedback/model";
import { reasonOf, statusIn } from "./reasons";
import { bareId, isRecord, MAILGUN_ID_KEY, type ProviderEvent, str, WEBHOOK_TOLERANCE_MS } from "./types";

const signatureSchema = z.object({
	timestamp: z.union([z.string(), z.number()]).transform(String),
	token: z.string().min(1).max(200),
	signature: z.string().regex(/^[0-9a-f]{64}$/i),
});

const payloadSchema = z.object({ signature: signatureSchema, "event-data": z.record(z.string(), z.unknown()) });

export type MailgunPayload = z.infer<typeof payloadSchema>;

const refused = (message: string) => new ApiError("unauthorized", message);

/**
 * Checks the signature and its freshness. The token is returned so the caller can refuse it the
 * second time (a replay within the freshness window).
 */
export async function verifyMailgun(
	body: string,
	signingKey: string,
	now: number,
): Promise<Result<{ token: string; payload: MailgunPayload }>> {
	let json: unknown;
	try {
		json = JSON.parse(body);
	} catch {
		return err(refused("The body is not a signed Mailgun webhook (JSON with a signature)."));
	}
	const parsed = payloadSchema.safeParse(json);
	if (!parsed.success) return err(refused("The body is not a signed Mailgun webhook (JSON with a signature)."));
	const { timestamp, token, signature } = parsed.data.signature;
	const expected = hex(await hmacSha256(signingKey, `${timestamp}${token}`));
	if (!timingSafeEqual(expected, signature.toLowerCase())) return err(refused("The Mailgun signature does not match."));
	const seconds = Number(timestamp);
	if (!Number.isFinite(seconds) || Math.abs(now - seconds * 1000) > WEBHOOK_TOLERANCE_MS) {
		return err(refused("The Mailgun signature timestamp is stale."));
	}
	return ok({ token, payload: parsed.data });
}

type Conversion = { kind: FeedbackKind; reason?: ProviderEvent["reason"] };

/** Mailgun's `failed` event: severity says whether Mailgun retries, `reason` what kind of failure. */
function failed(data: Record<string, unknown>, status: string | undefined, diagnostic: string | undefined): Conversion {
	const reason = str(data.reason);
	if (data.severity === "temporary") return { kind: "deferral", reason: reasonOf(status, diagnostic) };
	// Mailgun refused to send to an address on its own suppression lists.
	if (reason === "suppress-bounce") return { kind: "hard_bounce", reason: "user_unknown" };
	if (reason === "suppress-unsubscribe" || reason === "suppress-complaint")
		return { kind: "reject", reason: "filtered" };
	const bounceReason = reasonOf(status, diagnostic);
	return { kind: bounceKind(bounceReason, status ?? "5.0.0"), reason: bounceReason };
}

function conversion(data: Record<string, unknown>, status?: string, diagnostic?: string): Conversion | null {
	switch (data.event) {
		case "delivered":
			return { kind: "send" };
		case "failed":
			return failed(data, status, diagnostic);
		case "rejected":
			return { kind: "reject", reason: "rejected" };
		case "opened":
			return { kind: "open" };
		case "clicked":
			return { kind: "click" };
		case "complained":
			return { kind: "spam" };
		case "unsubscribed":
			return { kind: "unsub" };
		default:
			// accepted, stored, list events: nothing a recipient's state follows.
			return null;
	}
}

/** The event-data as one provider event, or none for event types we do not follow. */
export function mailgunEvents(payload: MailgunPayload, now: number): ProviderEvent[] {
	const data = payload["event-data"];
	const recipient = str(data.recipient);
	const id = str(data.id);
	if (!recipient || !id) return [];
	const delivery = isRecord(data["delivery-status"]) ? data["delivery-status"] : {};
	const diagnostic = str(delivery.message) ?? str(delivery.description);
	const code = typeof delivery.code === "number" ? String(delivery.code) : undefined;
	const status = str(delivery["enhanced-code"]) ?? statusIn(diagnostic) ?? (code ? statusIn(code) : undefined);
	const converted = conversion(data, status, diagnostic);
	if (!converted) return [];
	const variables = isRecord(data["user-variables"]) ? data["user-variables"] : {};
	const message = isRecord(data.message) ? data.message : {};
	const headers = isRecord(message.headers) ? message.headers : {};
	const providerId = str(headers["message-id"]);
	const bounce = converted.kind !== "send" && converted.kind !== "open" && converted.kind !== "click";
	return [
		{
			messageId: str(variables[MAILGUN_ID_KEY]) ?? null,
			providerMessageId: providerId ? bareId(providerId) : null,
			recipient: recipient.toLowerCase(),
			kind: converted.kind,
			reason: converted.reason,
			status: bounce ? status : undefined,
			diagnostic: bounce ? diagnostic : undefined,
			sourceEventId: `mailgun:${id}`,
			url: converted.kind === "click" ? str(data.url) : undefined,
			at: typeof data.timestamp === "number" ? Math.round(data.timestamp * 1000) : now,
		},
	];
}
