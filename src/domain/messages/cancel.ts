// Cancel and retry of one message (POST /v1/emails/{id}/cancel, /retry; docs/api.md). Each is one D1
// batch with its event row, published after the commit (events/emitter.ts). A message the consumer
// holds under a live lease is not taken from it: the holder decides, and the caller gets a 409.

import type { ActionResult } from "../../db/repositories/message-actions";
import { cancelMessage, retryMessage } from "../../db/repositories/message-actions";
import { ApiError, err, ok, type Result } from "../../errors";
import { ulidTime, verifyMessageId } from "../../lib/ids";
import { count } from "../../lib/metrics";
import { type EventQueues, publishEvents } from "../events/emitter";
import { withPriority } from "./bands";
import type { RedriveJob } from "./model";
import { PENDING_WINDOW_MS } from "./read";

export type ActionDeps = {
	d1: D1Database;
	signingKey: string;
	events: EventQueues;
	sendQueue: Queue;
	now: number;
};

export type ActionView = { id: string; status: "cancelled" | "deferred" };

const unknown = () => new ApiError("not_found", "No email with this id in this workspace.");

function refusal(id: string, result: ActionResult, now: number): ApiError {
	const state = result.state;
	if (!state) return unknown();
	if (state.status === "processing" && state.lease_expires_at !== null && state.lease_expires_at > now) {
		return new ApiError("conflict", `Email ${id} is processing: a delivery attempt holds it now.`);
	}
	return new ApiError("conflict", `Email ${id} is ${state.status}.`);
}

/** The acceptance time of an id that may still wait to be materialized (read.ts's pending window). */
function pendingSince(id: string, now: number): number | null {
	const at = ulidTime(id);
	if (at === null || now - at > PENDING_WINDOW_MS || at > now + 60_000) return null;
	return at;
}

export async function cancelEmail(deps: ActionDeps, workspaceId: string, id: string): Promise<Result<ActionView>> {
	if (!(await verifyMessageId(deps.signingKey, workspaceId, id))) return err(unknown());
	// The tombstone insert is a no-op when the row exists, so one batch serves both cases. An id past
	// the pending window gets none: without a row by then, it is long gone (404).
	const at = pendingSince(id, deps.now);
	const result = await cancelMessage(deps.d1, workspaceId, id, deps.now, at === null ? null : { createdAt: at });
	if (!result.changed) return err(refusal(id, result, deps.now));
	await publishEvents(result.events, deps.events);
	count("messages_cancelled_total");
	return ok({ id, status: "cancelled" });
}

export async function retryEmail(deps: ActionDeps, workspaceId: string, id: string): Promise<Result<ActionView>> {
	if (!(await verifyMessageId(deps.signingKey, workspaceId, id))) return err(unknown());
	const result = await retryMessage(deps.d1, workspaceId, id, deps.now);
	if (!result.changed) {
		// An accepted id with no row yet has never failed: it is still queued.
		if (!result.state && pendingSince(id, deps.now) !== null)
			return err(new ApiError("conflict", `Email ${id} is queued.`));
		return err(refusal(id, result, deps.now));
	}
	await publishEvents(result.events, deps.events);
	// In the band of its queue's priority (messages/bands.ts).
	const job = withPriority<RedriveJob>(
		{ v: 1, kind: "redrive", id, workspaceId, reason: "recovered" },
		result.state?.priority ?? undefined,
	);
	// The row is already due now: a redrive the queue refuses is picked up by the recovery sweep.
	await deps.sendQueue.send(job).catch(() => count("retry_enqueue_failures_total"));
	count("messages_retried_total");
	return ok({ id, status: "deferred" });
}
