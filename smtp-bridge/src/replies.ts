// Every Worker answer → one deliberate SMTP reply. The rule that matters: 250 only for a 202 (the
// message is durable on the send queue); anything the client may retry is 4xx, so an SMTP client
// keeps the message; 5xx only when a retry cannot succeed.
import type { WorkerAnswer } from "./worker-client.js";

export type SmtpReply = { code: number; text: string };

/** SMTP reply lines are at most 512 octets (RFC 5321 §4.5.3.1.5); Worker messages can be longer. */
const MAX_TEXT = 400;
const clip = (text: string) => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text);

export const TEMPORARY = { code: 451, text: "4.3.0 Temporary failure, message not accepted; try again later" };

/** Codes whose retry with the same message cannot succeed: the client should bounce it. */
const CONTENT_REFUSALS = new Set([
	"validation_error",
	"header_not_allowed",
	"invalid_idempotency_key",
	"idempotency_key_reused",
]);

/**
 * `relay`: the message came without AUTH from a trusted network, so a 401/403 is about the bridge's
 * own secret, not the client: temporary, for the operator to fix, never "bad credentials".
 */
export function dataReply(answer: WorkerAnswer, relay = false): SmtpReply {
	if (answer.kind === "unreachable") return TEMPORARY;
	if (relay && answer.kind === "refused" && (answer.code === "unauthorized" || answer.code === "forbidden")) {
		return TEMPORARY;
	}
	if (answer.kind === "ok") {
		const id = typeof answer.body.id === "string" ? answer.body.id : null;
		// A 2xx without an id is not the contract: never claim durability on a guess.
		if (answer.status !== 202 || id === null) return TEMPORARY;
		return { code: 250, text: `2.0.0 Ok: queued as ${id}` };
	}
	switch (answer.code) {
		case "unauthorized":
			return { code: 535, text: "5.7.8 Authentication credentials invalid" };
		case "forbidden":
		case "domain_not_verified":
			return { code: 550, text: clip(`5.7.1 ${answer.message}`) };
		case "payload_too_large":
			return { code: 552, text: "5.3.4 Message too big for the relay" };
		case "rate_limited":
			return {
				code: 452,
				text: `4.7.0 Rate limit reached, try again ${answer.retryAfter ? `in ${answer.retryAfter} s` : "later"}`,
			};
		case "idempotency_key_in_use":
			return { code: 451, text: "4.3.0 The same message is being accepted right now; try again shortly" };
	}
	if (CONTENT_REFUSALS.has(answer.code)) return { code: 550, text: clip(`5.6.0 ${answer.message}`) };
	// 5xx, and anything this bridge does not know: the Worker may be mid-deploy; never lose mail.
	return TEMPORARY;
}

/** The reply to AUTH, or null when the key may send. */
export function authReply(answer: WorkerAnswer): SmtpReply | null {
	if (answer.kind === "ok") return null;
	if (answer.kind === "refused" && (answer.code === "unauthorized" || answer.code === "forbidden")) {
		return {
			code: 535,
			text:
				answer.code === "forbidden"
					? clip(`5.7.8 Authentication credentials invalid: ${answer.message}`)
					: "5.7.8 Authentication credentials invalid",
		};
	}
	return { code: 454, text: "4.7.0 Temporary authentication failure; try again later" };
}
