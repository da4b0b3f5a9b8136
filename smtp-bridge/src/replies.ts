// Every Worker answer → one deliberate SMTP reply. The rule that matters: 250 only for a 202 (the
// message is durable on the send queue); anything the client may retry is 4xx, so an SMTP client
// keeps the message; 5xx only when a retry cannot succeed.
import type { RecipientAnswer, WorkerAnswer } from "./worker-client.js";

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

/** MX mode at RCPT TO: null when the Worker accepts the recipient, else the reply for it. */
export function mxRecipientReply(result: RecipientAnswer): SmtpReply | null {
	if (result.kind === "failed")
		return { code: 451, text: "4.3.0 Temporary failure checking the recipient; try again later" };
	if (result.accept) return null;
	return { code: result.code, text: clip(`${result.enhanced} ${result.message}`) };
}

/** Worker statuses on /v1/smtp/inbound that are about the bridge or the moment, not the message. */
const MX_TEMPORARY_STATUSES = new Set([401, 403, 408, 409, 429]);

/**
 * MX mode after DATA: 250 only for `{"stored": true}` (the message is durable in R2 and D1); a
 * refusal of the message (4xx) is 550, since the sending MTA then bounces it to its sender; the
 * bridge's own credentials, a timeout, a 5xx or anything unexpected is 451 so the MTA retries.
 */
export function mxDataReply(answer: WorkerAnswer): SmtpReply {
	if (answer.kind === "unreachable") return TEMPORARY;
	if (answer.kind === "ok") {
		const id = typeof answer.body.id === "string" ? answer.body.id : "";
		return answer.body.stored === true ? { code: 250, text: `2.0.0 Ok: stored${id ? ` as ${id}` : ""}` } : TEMPORARY;
	}
	if (answer.status >= 500 || MX_TEMPORARY_STATUSES.has(answer.status)) return TEMPORARY;
	if (answer.status === 413 || answer.code === "payload_too_large") return { code: 552, text: "5.3.4 Message too big" };
	const enhanced = answer.code === "validation_error" ? "5.6.0" : "5.7.1";
	return { code: 550, text: clip(`${enhanced} ${answer.message}`) };
}
