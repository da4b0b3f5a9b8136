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
import { enqueueMany, enqueueOne, messageIdentity, type PreparedJob, prepareJob, type SendDeps } from "./accept";
import type { AcceptedMessage } from "./model";
import { type Sender, validateSend } from "./validate";

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

export async function submitOne(
	input: unknown,
	sender: Sender,
	deps: SendDeps,
	idempotency: IdempotencyRequest | null,
): Promise<Result<IdempotentOutcome, ApiError>> {
	const valid = validateSend(input, sender);
	if (!valid.ok) return valid;
	const message = valid.value;
	return withIdempotency(idempotency, async (attempt) => {
		const identity = await messageIdentity(deps.signingKey, sender.workspaceId, attempt, 0);
		try {
			await enqueueOne(await prepareJob(message, sender, identity, deps), deps);
		} catch (error) {
			console.error("enqueue failed", { workspaceId: sender.workspaceId, id: identity.id, error: errorSummary(error) });
			return err(new ApiError("service_unavailable", unconfirmedMessage(attempt !== null)));
		}
		const body: Accepted = { id: identity.id, status: "queued" };
		return ok({ status: 202, body });
	});
}

type ValidItem = { index: number; message: AcceptedMessage };

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
		if (checked.ok) valid.push({ index, message: checked.value });
		else refused.set(index, { index, error: { code: checked.error.code, message: checked.error.message } });
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
		const accepted = await acceptItems(valid, sender, deps, attempt);
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
		const incomplete = attempt !== null && count < valid.length;
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
				return await prepareJob(v.message, sender, identity, deps);
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
