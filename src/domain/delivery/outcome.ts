// Turns one attempt's per-recipient results into what is written: each recipient's status, the
// message's status, the schedule of the next attempt, and one event per recipient it concerns
// (DESIGN.md result table). Pure: the consumer does the I/O.
//
// Only recipients a gateway was tried for make the attempt count toward the retry limit; recipients
// held back (no gateway would take them, limits, a paused queue) wait without spending it.
import type { Outcome, RecipientOutcome, RecipientState } from "../../db/repositories/delivery";
import type { EventRow } from "../../db/repositories/events";
import { FINAL_MESSAGE_STATUSES, type MessageStatus } from "../../db/schema";
import type { DeliveryFailureKind } from "../../providers/types";
import { eventRow } from "../events/emitter";
import type { DeliveredRecipient, Held } from "./dispatch";
import { DEFAULT_RETRY_POLICY, MAX_AGE_MS, type RetryPolicy, retriesExhausted, retryDelaySeconds } from "./retry";

export type AttemptResult =
	/** Gateways answered per recipient; some recipients may have been held back. */
	| { kind: "delivered"; recipients: DeliveredRecipient[]; held: Held[]; mimeKey: string | null }
	/** Nothing reached a gateway for a reason that concerns the whole message. */
	| { kind: "failed"; gatewayId: string | null; failure: DeliveryFailureKind | "final"; reason: string }
	/** Nothing was tried: the whole message waits (no gateway available, a limit, a paused queue). */
	| { kind: "held"; until: number | null; reason: string };

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
	/** The message's queue's schedule; the defaults without one. */
	policy?: RetryPolicy | undefined;
};

export type AttemptOutcome = {
	outcome: Outcome;
	events: (EventRow & { token: string })[];
	/** Seconds until the next attempt when the message was deferred. */
	retryInSeconds: number | null;
};

/** How long a held message waits when nothing says when it could go. */
export const HOLD_SECONDS = 30;

const FINAL = FINAL_MESSAGE_STATUSES;

type Judged = { email: string; result: DeliveredRecipient | null; held: Held | null };

function judged(input: AttemptInput): Judged[] {
	const { result } = input;
	if (result.kind === "delivered") {
		const byEmail = new Map(result.recipients.map((r) => [r.email, r]));
		const held = new Map(result.held.map((h) => [h.email, h]));
		return input.tried.map((email) => ({
			email,
			result: byEmail.get(email) ?? null,
			held: byEmail.has(email) ? null : (held.get(email) ?? { email, until: null, reason: "no gateway answered" }),
		}));
	}
	if (result.kind === "held") {
		return input.tried.map((email) => ({
			email,
			result: null,
			held: { email, until: result.until, reason: result.reason },
		}));
	}
	// "final" failures (nothing to send through, no content) are permanent for the message but not a rejection.
	const status = result.failure === "final" ? "permanent" : result.failure;
	const gatewayId = result.gatewayId ?? "";
	return input.tried.map((email) => ({
		email,
		result: { email, status, response: result.reason, gatewayId, gatewaysTried: gatewayId ? [gatewayId] : [] },
		held: null,
	}));
}

export function classifyAttempt(input: AttemptInput): AttemptOutcome {
	const entries = judged(input);
	const counted = entries.some((e) => e.result !== null);
	const attempt = input.attempts + (counted ? 1 : 0);
	const policy = input.policy ?? DEFAULT_RETRY_POLICY;
	const exhausted = counted && retriesExhausted(attempt, input.acceptedAt, input.now, policy.maxRetries);
	const tooOld = input.now - input.acceptedAt >= MAX_AGE_MS;
	const final = input.result.kind === "failed" && input.result.failure === "final";

	const recipients: RecipientOutcome[] = [];
	const events: AttemptOutcome["events"] = [];
	const statuses: MessageStatus[] = [];
	const byEmail = new Map(entries.map((e) => [e.email, e]));
	let firstFailure: string | null = null;
	let providerMessageId: string | null = null;
	let gatewayId: string | null = null;
	let retryAfter = 0;
	let holdUntil: number | null = null;
	const seen = new Set<string>();

	for (const r of input.recipients) {
		if (seen.has(r.email)) continue;
		seen.add(r.email);
		const entry = byEmail.get(r.email);
		if (!entry) {
			// Not part of this attempt: keeps what an earlier attempt decided.
			statuses.push(FINAL.has(r.status) ? r.status : "deferred");
			continue;
		}
		const res = entry.result;
		let status: MessageStatus;
		let error: string | null = null;
		const data: Record<string, unknown> = { attempt };
		if (res) {
			gatewayId = res.status === "accepted" ? res.gatewayId : (gatewayId ?? res.gatewayId);
			if (res.status === "accepted") {
				status = "sent";
				providerMessageId ??= res.providerMessageId;
				if (res.providerMessageId) data.provider_message_id = res.providerMessageId;
			} else {
				status = res.status === "permanent" ? (final ? "failed" : "rejected") : exhausted ? "failed" : "deferred";
				error = `${res.status}: ${res.response}`;
				firstFailure ??= error;
				if (res.status !== "permanent") retryAfter = Math.max(retryAfter, res.retryAfterSeconds ?? 0);
			}
			Object.assign(data, { gateway_id: res.gatewayId || null, result: res.status });
			if (res.gatewaysTried.length > 1) data.gateways_tried = res.gatewaysTried;
		} else {
			const held = entry.held;
			status = tooOld ? "failed" : "deferred";
			error = `held: ${held?.reason ?? "waiting"}`;
			firstFailure ??= error;
			if (held?.until !== null && held?.until !== undefined) holdUntil = Math.min(holdUntil ?? held.until, held.until);
			Object.assign(data, { result: "held", reason: held?.reason ?? null });
		}
		if (error) data.error = error;
		statuses.push(status);
		recipients.push({
			email: r.email,
			status,
			tried: res ? 1 : 0,
			gateway_id: res?.gatewayId || null,
			provider_message_id: res?.status === "accepted" ? res.providerMessageId : null,
			error,
		});
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
				: // Every recipient skipped as suppressed (docs/suppressions.md): the message reads `suppressed`.
					statuses.every((s) => s === "suppressed")
					? "suppressed"
					: "rejected";
	let retryInSeconds: number | null = null;
	if (status === "deferred") {
		const anyTriedFailure = entries.some(
			(e) => e.result && e.result.status !== "accepted" && e.result.status !== "permanent",
		);
		retryInSeconds = anyTriedFailure
			? Math.max(retryDelaySeconds(attempt, policy.delaysSeconds), retryAfter)
			: holdUntil !== null
				? Math.max(0, Math.ceil((holdUntil - input.now) / 1000))
				: HOLD_SECONDS;
	}
	let error = firstFailure;
	if (status === "failed" && error && !final) {
		error = exhausted
			? `retries exhausted after ${attempt} attempts; last: ${error}`
			: `undelivered after ${Math.round(MAX_AGE_MS / 3_600_000)} h; last: ${error}`;
	}
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
