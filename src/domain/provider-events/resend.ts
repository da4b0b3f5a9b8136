// Resend webhooks, signed the Svix way (resend.com/docs "Verify webhooks requests"): `svix-id`,
// `svix-timestamp` (seconds) and `svix-signature`, a space-separated list of `v1,<base64
// HMAC-SHA256(id.timestamp.body)>` under the `whsec_` secret's base64-decoded bytes. Our id comes
// back as the `mq_message_id` tag.
import { ApiError, err, ok, type Result } from "../../errors";
import { timingSafeEqual } from "../../lib/crypto";
import { fromBase64, toBase64, utf8 } from "../../lib/encoding";
import { bounceKind, type FeedbackKind } from "../feedback/model";
import { reasonOf, statusIn } from "./reasons";
import { isRecord, msOf, OUR_ID_KEY, type ProviderEvent, str, WEBHOOK_TOLERANCE_MS } from "./types";

const refused = (message: string) => new ApiError("unauthorized", message);

async function svixSignature(secret: string, signed: string): Promise<string> {
	const key = await crypto.subtle.importKey(
		"raw",
		fromBase64(secret.replace(/^whsec_/, "")),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign"],
	);
	return toBase64(new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8.encode(signed))));
}

export type SvixVerified = { id: string; payload: Record<string, unknown> };

export async function verifySvix(
	headers: Headers,
	body: string,
	secret: string,
	now: number,
): Promise<Result<SvixVerified>> {
	const id = headers.get("svix-id");
	const timestamp = headers.get("svix-timestamp");
	const signatures = headers.get("svix-signature");
	if (!id || !timestamp || !signatures)
		return err(refused("The svix-id, svix-timestamp or svix-signature header is missing."));
	let expected: string;
	try {
		expected = await svixSignature(secret, `${id}.${timestamp}.${body}`);
	} catch {
		return err(refused("The Resend signature does not match."));
	}
	// Several signatures appear while a secret is rotated; any one of them may match.
	const matched = signatures
		.split(" ")
		.map((s) => s.split(","))
		.some(([version, value]) => version === "v1" && value !== undefined && timingSafeEqual(value, expected));
	if (!matched) return err(refused("The Resend signature does not match."));
	const seconds = Number(timestamp);
	if (!Number.isFinite(seconds) || Math.abs(now - seconds * 1000) > WEBHOOK_TOLERANCE_MS) {
		return err(refused("The Resend signature timestamp is stale."));
	}
	let payload: unknown;
	try {
		payload = JSON.parse(body);
	} catch {
		return err(new ApiError("invalid_json", "The Resend body is not JSON."));
	}
	if (!isRecord(payload)) return err(new ApiError("validation_error", "The Resend body is not an event object."));
	return ok({ id, payload });
}

/** Resend sends tags as `[{ name, value }]` (and has sent them as an object); either gives our id. */
function taggedId(tags: unknown): string | undefined {
	if (isRecord(tags)) return str(tags[OUR_ID_KEY]);
	if (!Array.isArray(tags)) return undefined;
	const tag = tags.find((t) => isRecord(t) && t.name === OUR_ID_KEY);
	return isRecord(tag) ? str(tag.value) : undefined;
}

type Conversion = { kind: FeedbackKind; reason?: ProviderEvent["reason"] };

function bounced(data: Record<string, unknown>): Conversion & { status?: string; diagnostic?: string } {
	const bounce = isRecord(data.bounce) ? data.bounce : {};
	const codes = Array.isArray(bounce.diagnosticCode) ? bounce.diagnosticCode.filter((c) => typeof c === "string") : [];
	const diagnostic = codes.join("; ") || str(bounce.message);
	const status = statusIn(diagnostic);
	if (bounce.type === "Transient")
		return { kind: "soft_bounce", reason: reasonOf(status, diagnostic), status, diagnostic };
	// Resend's bounces are SES's underneath: a Permanent bounce without better words is a dead address.
	const words = reasonOf(status, diagnostic);
	const reason = words === "other" ? "user_unknown" : words;
	return { kind: bounceKind(reason, status ?? "5.0.0"), reason, status, diagnostic };
}

export function resendEvents(verified: SvixVerified, now: number): ProviderEvent[] {
	const { payload } = verified;
	const data = isRecord(payload.data) ? payload.data : {};
	const emailId = str(data.email_id);
	const to = Array.isArray(data.to) ? data.to.filter((t): t is string => typeof t === "string") : [];
	if (!emailId || to.length === 0) return [];
	let converted: (Conversion & { status?: string; diagnostic?: string; url?: string }) | null;
	switch (payload.type) {
		case "email.delivered":
			converted = { kind: "send" };
			break;
		case "email.bounced":
			converted = bounced(data);
			break;
		case "email.complained":
			converted = { kind: "spam" };
			break;
		case "email.delivery_delayed":
			converted = { kind: "deferral", reason: "other" };
			break;
		case "email.opened":
			converted = { kind: "open" };
			break;
		case "email.clicked":
			converted = { kind: "click", url: isRecord(data.click) ? str(data.click.link) : undefined };
			break;
		default:
			// email.sent, email.failed (our driver saw that), contact and domain events.
			converted = null;
	}
	if (!converted) return [];
	const event = converted;
	const at = msOf(payload.created_at, now);
	return to.map((to) => {
		const recipient = to.replace(/^.*<([^>]+)>$/, "$1").toLowerCase();
		return {
			messageId: taggedId(data.tags) ?? null,
			providerMessageId: emailId,
			recipient,
			kind: event.kind,
			reason: event.reason,
			status: event.status,
			diagnostic: event.diagnostic,
			sourceEventId: `resend:${verified.id}:${recipient}`,
			url: event.url,
			at,
		};
	});
}
