// Standard Webhooks signing (DESIGN.md "Outbound webhooks"): `webhook-signature: v1,<base64
// HMAC-SHA256(id.timestamp.body)>` keyed with the bytes of a `whsec_<base64>` secret.

import { randomBytes } from "../../lib/crypto";
import { fromBase64, toBase64, utf8 } from "../../lib/encoding";

export const WEBHOOK_SECRET_PREFIX = "whsec_";

export function newWebhookSecret(): string {
	return `${WEBHOOK_SECRET_PREFIX}${toBase64(randomBytes(24))}`;
}

async function hmac(secret: string, message: string): Promise<string> {
	const keyBytes = fromBase64(
		secret.startsWith(WEBHOOK_SECRET_PREFIX) ? secret.slice(WEBHOOK_SECRET_PREFIX.length) : secret,
	);
	const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	return toBase64(new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8.encode(message))));
}

/** The three headers a Standard Webhooks receiver verifies. `timestamp` in seconds. */
export async function signWebhook(
	secret: string,
	id: string,
	timestamp: number,
	body: string,
): Promise<Record<string, string>> {
	return {
		"webhook-id": id,
		"webhook-timestamp": String(timestamp),
		"webhook-signature": `v1,${await hmac(secret, `${id}.${timestamp}.${body}`)}`,
	};
}
