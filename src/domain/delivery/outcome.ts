// Turns one attempt's per-recipient results into what is written: each recipient's status, the
// message's status, the schedule of the next attempt, and one event per recipient tried
// (DESIGN.md result table). Pure: the consumer does the I/O.
import type { Outcome, RecipientOutcome, RecipientState } from "../../db/repositories/delivery";
import type { EventRow } from "../../db/repositories/events";
import type { MessageStatus } from "../../db/schema";
import type { DeliveryFailureKind, RecipientResult } from "../../providers/types";
import { eventRow } from "../events/emitter";
import { retriesExhausted, retryDelaySeconds } from "./retry";

export type AttemptResult =
	/** The gateway answered per recipient. */
	| { kind: "delivered"; gatewayId: string; recipients: RecipientResult[]; mimeKey: string | null }
	/** Nothing reached a gateway: every recipient tried gets the same classified failure. */
	| { kind: "failed"; gatewayId: string | null; failure: DeliveryFailureKind | "final"; reason: string }
	/** Rate limits (delivery/limits.ts): not tried, not an attempt; waits until `until`. */
	| { kind: "held"; until: number; reason: string };

export type AttemptInput = {
	id: string;
	workspaceId: string;
	token: string;
	/** Delivery attempts before this one. */
	attempts: number;
	acceptedAt: number;
	recipients: readonly RecipientState[];
	/** The envelope recipients of this attempt. */
	tried: readonly string[];
	result: AttemptResult;
	now: number;
};

export type AttemptOutcome = {
	outcome: Outcome;
	events: (EventRow & { token: string })[];
	/** Seconds until the next attempt when the message was deferred. */
	retryInSeconds: number | null;
};

const FINAL = new Set<MessageStatus>(["sent", "delivered", "bounced", "rejected", "failed", "cancelled"]);

function resultsByEmail(input: AttemptInput): Map<string, RecipientResult> {
	const { result } = input;
	const map = new Map<string, RecipientResult>();
	if (result.kind === "delivered") {
		for (const r of result.recipients) map.set(r.email, r);
	} else if (result.kind === "failed") {
		// "final" failures (nothing to send through) are permanent for the message but not a rejection.
		const status = result.failure === "final" ? "permanent" : result.failure;
		for (const email of input.tried) map.set(email, { email, status, response: result.reason });
	}
	// A driver that forgot a recipient has not delivered to it: retry it rather than guess.
	for (const email of input.tried) {
		if (!map.has(email)) map.set(email, { email, status: "temporary", response: "the gateway gave no result" });
	}
	return map;
}

export function classifyAttempt(input: AttemptInput): AttemptOutcome {
	if (input.result.kind === "held") return classifyHeld(input, input.result);
	const attempt = input.attempts + 1;
	const results = resultsByEmail(input);
	const tried = new Set(input.tried);
	const exhausted = retriesExhausted(attempt, input.acceptedAt, input.now);
	const final = input.result.kind === "failed" && input.result.failure === "final";
	const gatewayId = input.result.gatewayId;

	const recipientStatus = (r: RecipientResult): MessageStatus => {
		if (r.status === "accepted") return "sent";
		if (r.status === "permanent") return final ? "failed" : "rejected";
		return exhausted ? "failed" : "deferred";
	};

	const recipients: RecipientOutcome[] = [];
	const events: AttemptOutcome["events"] = [];
	const statuses: MessageStatus[] = [];
	let firstFailure: RecipientResult | undefined;
	let providerMessageId: string | null = null;
	let retryAfter = 0;
	const seen = new Set<string>();
	for (const r of input.recipients) {
		if (seen.has(r.email)) continue;
		seen.add(r.email);
		const result = tried.has(r.email) ? results.get(r.email) : undefined;
		if (!result) {
			// Not part of this attempt: keeps what an earlier attempt decided.
			statuses.push(FINAL.has(r.status) ? r.status : "deferred");
			continue;
		}
		const status = recipientStatus(result);
		statuses.push(status);
		const accepted = result.status === "accepted" ? result : null;
		if (result.status === "accepted") providerMessageId ??= result.providerMessageId;
		else {
			firstFailure ??= result;
			retryAfter = Math.max(retryAfter, result.retryAfterSeconds ?? 0);
		}
		const error = accepted ? null : `${result.status}: ${result.response}`;
		recipients.push({
			email: r.email,
			status,
			tried: 1,
			gateway_id: gatewayId,
			provider_message_id: accepted?.providerMessageId ?? null,
			error,
		});
		const data: Record<string, unknown> = { attempt, gateway_id: gatewayId, result: result.status };
		if (accepted?.providerMessageId) data.provider_message_id = accepted.providerMessageId;
		if (error) data.error = error;
		events.push({
			...eventRow({
				workspaceId: input.workspaceId,
				messageId: input.id,
				recipient: r.email,
				type:
					status === "sent" ? "sent" : status === "rejected" ? "rejected" : status === "failed" ? "failed" : "deferred",
				data,
				at: input.now,
			}),
			token: input.token,
		});
	}

	const status: Outcome["status"] = statuses.includes("deferred")
		? "deferred"
		: statuses.includes("sent")
			? "sent"
			: statuses.includes("failed")
				? "failed"
				: "rejected";
	const retryInSeconds = status === "deferred" ? Math.max(retryDelaySeconds(attempt), retryAfter) : null;
	let error =
		firstFailure && firstFailure.status !== "accepted" ? `${firstFailure.status}: ${firstFailure.response}` : null;
	if (exhausted && error && !final && statuses.includes("failed"))
		error = `retries exhausted after ${attempt} attempts; last: ${error}`;
	return {
		outcome: {
			id: input.id,
			token: input.token,
			status,
			attempts: attempt,
			gateway_id: gatewayId,
			provider_message_id: providerMessageId,
			mime_key: input.result.kind === "delivered" ? input.result.mimeKey : null,
			error,
			next_attempt_at: retryInSeconds === null ? null : input.now + retryInSeconds * 1000,
			recipients,
		},
		events,
		retryInSeconds,
	};
}

/**
 * A message a rate limit holds back: nobody was tried, so `attempts` stays as it was and the retry
 * budget is untouched; it waits as `deferred` until the window allows it, with one event saying why.
 */
function classifyHeld(input: AttemptInput, held: { until: number; reason: string }): AttemptOutcome {
	const recipients: RecipientOutcome[] = [];
	const seen = new Set<string>();
	for (const r of input.recipients) {
		if (seen.has(r.email)) continue;
		seen.add(r.email);
		recipients.push({
			email: r.email,
			status: FINAL.has(r.status) ? r.status : "deferred",
			tried: 0,
			gateway_id: null,
			provider_message_id: null,
			error: null,
		});
	}
	const event = eventRow({
		workspaceId: input.workspaceId,
		messageId: input.id,
		recipient: null,
		type: "deferred",
		data: { reason: held.reason, until: held.until, attempt: null },
		at: input.now,
	});
	return {
		outcome: {
			id: input.id,
			token: input.token,
			status: "deferred",
			attempts: input.attempts,
			gateway_id: null,
			provider_message_id: null,
			mime_key: null,
			error: held.reason,
			next_attempt_at: held.until,
			recipients,
		},
		events: [{ ...event, token: input.token }],
		retryInSeconds: Math.max(0, Math.ceil((held.until - input.now) / 1000)),
	};
}
