// Accepting mail: one message or a batch, validated by validateSend, made durable on the send queue,
// under the request's Idempotency-Key when it has one. A retry under the key reuses every message id
// and re-attempts only the items an earlier attempt could not make durable.
import { ApiError, type ErrorCode, err, ok, type Result } from "../../errors";
import { errorSummary } from "../../lib/log";
import {
	type AcceptedItems,
	type Attempt,
	type IdempotencyRequest,
	type IdempotentOutcome,
	withIdempotency,
} from "../idempotency";
import { resolveQueue } from "../queues/queues";
import { rateLimited } from "../rate-limits/gate";
import { senderKey } from "../rate-limits/model";
import { enqueueMany, enqueueOne, messageIdentity, type PreparedJob, prepareJob, type SendDeps } from "./accept";
import type { AcceptedMessage } from "./model";
import { requestedQueue, type Sender, validateSend } from "./validate";

export const MAX_BATCH = 1000;

export type Accepted = { id: string; status: "queued" };
export type BatchItemResult =
	| { index: number; id: string; status: "queued" }
	| { index: number; error: { code: ErrorCode; message: string } };
export type BatchResponse = { data: BatchItemResult[]; accepted: number; rejected: number };

/** What a client is told when the queue did not confirm a message, with or without a key. */
export function unconfirmedMessage(withKey: boolean, what = "the message"): string {
	return withKey
		? `The send queue did not confirm ${what}. Retry with the same Idempotency-Key: a retry reuses the message ids, so nothing is sent twice.`
		: `The send queue did not confirm ${what}, so whether it was accepted is unknown; retrying may send it twice. Send an Idempotency-Key to make retries safe.`;
}

/** `raw`: the SMTP client's message the input was parsed from, delivered as sent (from-mime.ts). */
export async function submitOne(
	input: unknown,
	sender: Sender,
	deps: SendDeps,
	idempotency: IdempotencyRequest | null,
	raw?: string,
): Promise<Result<IdempotentOutcome, ApiError>> {
	const valid = validateSend(input, sender);
	if (!valid.ok) return valid;
	const message = raw === undefined ? valid.value : { ...valid.value, raw };
	const queue = resolveQueue(requestedQueue(input), sender.workspaceId, sender.queues ?? []);
	if (!queue.ok) return queue;
	return withIdempotency(idempotency, async (attempt) => {
		// Issue 9: the request's one limiter call, inside the key's scope so a replay is not counted.
		const limited = await checkLimits(deps, [message]);
		if (!limited.ok) return limited;
		const refusal = limited.value[0];
		if (refusal) return err(rateLimited(refusal, "This message"));
		const identity = await messageIdentity(deps.signingKey, sender.workspaceId, attempt, 0);
		try {
			await enqueueOne(await prepareJob(message, sender, identity, deps, queue.value), deps);
		} catch (error) {
			console.error("enqueue failed", { workspaceId: sender.workspaceId, id: identity.id, error: errorSummary(error) });
			return err(new ApiError("service_unavailable", unconfirmedMessage(attempt !== null)));
		}
		const body: Accepted = { id: identity.id, status: "queued" };
		return ok({ status: 202, body });
	});
}

type ValidItem = { index: number; message: AcceptedMessage; queueId: string };

/** Issue 9: per message, null or the hard send limit that refuses it (one limiter call, or none). */
async function checkLimits(deps: SendDeps, messages: readonly AcceptedMessage[]) {
	const sends = messages.map((m) => ({ sender: senderKey(m.from.email, m.headers), n: 1 }));
	if (!deps.limits?.needed(true)) return ok(sends.map(() => null));
	return deps.limits.check(sends);
}

export async function submitBatch(
	items: readonly unknown[],
	sender: Sender,
	deps: SendDeps,
	idempotency: IdempotencyRequest | null,
): Promise<Result<IdempotentOutcome, ApiError>> {
	const refused = new Map<number, BatchItemResult>();
	const valid: ValidItem[] = [];
	items.forEach((item, index) => {
		const checked = validateSend(item, sender);
		const queue = checked.ok ? resolveQueue(requestedQueue(item), sender.workspaceId, sender.queues ?? []) : null;
		if (checked.ok && queue?.ok) valid.push({ index, message: checked.value, queueId: queue.value });
		else if (queue && !queue.ok)
			refused.set(index, { index, error: { code: queue.error.code, message: queue.error.message } });
		else if (!checked.ok)
			refused.set(index, { index, error: { code: checked.error.code, message: checked.error.message } });
	});
	if (valid.length === 0) {
		return err(
			new ApiError(
				"validation_error",
				"No item of the batch is valid; nothing was accepted.",
				[...refused.values()].map((r) => ({ index: r.index, message: "error" in r ? r.error.message : "" })),
			),
		);
	}
	return withIdempotency(idempotency, async (attempt) => {
		// Issue 9: items over a hard send limit are refused, each naming its limit; the rest go on.
		const pending = valid.filter((v) => attempt?.accepted[String(v.index)] === undefined);
		const limited = await checkLimits(
			deps,
			pending.map((v) => v.message),
		);
		if (!limited.ok) return limited;
		const overLimit = new Map<number, BatchItemResult>();
		pending.forEach((v, i) => {
			const r = limited.value[i];
			if (r)
				overLimit.set(v.index, {
					index: v.index,
					error: { code: "rate_limited", message: rateLimited(r, "This item").message },
				});
		});
		if (overLimit.size > 0 && overLimit.size === valid.length) {
			const first = limited.value.find((r) => r !== null);
			if (first) return err(rateLimited(first, "Every valid item of the batch"));
		}
		const allowed = valid.filter((v) => !overLimit.has(v.index));
		for (const [index, result] of overLimit) refused.set(index, result);
		const accepted = await acceptItems(allowed, sender, deps, attempt);
		if (Object.keys(accepted).length === 0) {
			return err(new ApiError("service_unavailable", unconfirmedMessage(attempt !== null, "any item of the batch")));
		}
		const unconfirmed = unconfirmedMessage(attempt !== null, "this item");
		const data = items.map((_, index): BatchItemResult => {
			const id = accepted[String(index)];
			if (id) return { index, id, status: "queued" };
			return refused.get(index) ?? { index, error: { code: "service_unavailable", message: unconfirmed } };
		});
		const count = Object.keys(accepted).length;
		const body: BatchResponse = { data, accepted: count, rejected: data.length - count };
		// Items still waiting for a retry: keep progress for it instead of storing a replay that says
		// "retry with the same key" forever.
		const incomplete = attempt !== null && count < allowed.length;
		return ok({ status: 202, body, ...(incomplete ? { partial: accepted } : {}) });
	});
}

/** Enqueues the items no earlier attempt made durable; returns every accepted index → id. */
async function acceptItems(
	valid: ValidItem[],
	sender: Sender,
	deps: SendDeps,
	attempt: Attempt | null,
): Promise<AcceptedItems> {
	const accepted: AcceptedItems = { ...attempt?.accepted };
	const pending = valid.filter((v) => accepted[String(v.index)] === undefined);
	const prepared = await Promise.all(
		pending.map(async (v): Promise<PreparedJob | null> => {
			const identity = await messageIdentity(deps.signingKey, sender.workspaceId, attempt, v.index);
			try {
				return await prepareJob(v.message, sender, identity, deps, v.queueId);
			} catch (error) {
				console.error("content put failed", {
					workspaceId: sender.workspaceId,
					id: identity.id,
					error: errorSummary(error),
				});
				return null;
			}
		}),
	);
	const ready = pending.flatMap((v, i) => {
		const p = prepared[i];
		return p ? [{ index: v.index, prepared: p }] : [];
	});
	const durable = await enqueueMany(
		ready.map((r) => r.prepared),
		deps,
	);
	ready.forEach((r, i) => {
		if (durable[i]) accepted[String(r.index)] = r.prepared.job.id;
	});
	return accepted;
}
