// Making validated messages durable on the `send` queue before anyone answers 202: their ids (stable
// across retries under an Idempotency-Key), the job around each, R2 for content too large for a
// queue message, and as few `sendBatch` calls as the platform limits allow.
import { utf8Length } from "../../lib/encoding";
import { idempotentMessageId, newMessageId } from "../../lib/ids";
import { errorSummary } from "../../lib/log";
import { count } from "../../lib/metrics";
import { sendBatchChunks } from "../../lib/queue-batches";
import type { Attempt } from "../idempotency";
import type { LimitGate } from "../rate-limits/gate";
import type { AcceptedMessage, SendJob } from "./model";
import type { Sender } from "./validate";

export type SendDeps = {
	signingKey: string;
	queue: Queue;
	bodies: R2Bucket;
	/** Issue 9: the request's rate-limit gate (hard send limits); none means no check. */
	limits?: LimitGate;
};

/** Queue messages are capped at 128 KB; above this serialized size the content goes to R2 first. */
export const INLINE_JOB_LIMIT_BYTES = 120 * 1024;

export type Identity = { id: string; acceptedAt: number };

/**
 * Item `index`'s id and acceptance time. Under an Idempotency-Key both derive from the key and its
 * first-seen time, so every retry builds the same job and the consumer keeps only one.
 */
export async function messageIdentity(
	signingKey: string,
	workspaceId: string,
	attempt: Attempt | null,
	index: number,
): Promise<Identity> {
	if (attempt === null) {
		const acceptedAt = Date.now();
		return { id: await newMessageId(signingKey, workspaceId, acceptedAt), acceptedAt };
	}
	return {
		id: await idempotentMessageId(signingKey, workspaceId, attempt.key, index, attempt.firstSeenAt),
		acceptedAt: attempt.firstSeenAt,
	};
}

export type PreparedJob = { job: SendJob; body: string };

/**
 * Builds the job for one accepted message, moving oversized content, and any message with
 * attachments, to R2 (written before the 202).
 */
export async function prepareJob(
	message: AcceptedMessage,
	sender: Sender,
	identity: Identity,
	deps: SendDeps,
	queueId?: string,
): Promise<PreparedJob> {
	const priority = queueId ? sender.queues?.find((q) => q.id === queueId)?.priority : undefined;
	const { id, acceptedAt } = identity;
	const job: SendJob = {
		v: 1,
		kind: "accepted",
		id,
		workspaceId: sender.workspaceId,
		apiKeyId: sender.apiKeyId,
		sandbox: sender.sandbox,
		acceptedAt,
		...(queueId ? { queueId } : {}),
		...(sender.source ? { source: sender.source } : {}),
		...(sender.clientIp ? { clientIp: sender.clientIp } : {}),
		...(priority !== undefined ? { priority } : {}),
		message,
	};
	const body = JSON.stringify(job);
	// Attachments always go to R2: D1 rows keep no files, so a later attempt reads them from there.
	if (!message.attachments?.length && utf8Length(body) <= INLINE_JOB_LIMIT_BYTES) return { job, body };
	// Keyed by the id, so a retry under the same Idempotency-Key overwrites rather than adds.
	const contentKey = `content/${sender.workspaceId}/${id}.json`;
	await deps.bodies.put(contentKey, JSON.stringify(message), {
		httpMetadata: { contentType: "application/json" },
	});
	const { message: _inline, ...rest } = job;
	const slim: SendJob = { ...rest, contentKey };
	return { job: slim, body: JSON.stringify(slim) };
}

export async function enqueueOne(prepared: PreparedJob, deps: SendDeps): Promise<void> {
	await deps.queue.send(prepared.job, { contentType: "json" });
	count("queue_send_calls_total");
	count("queue_messages_sent_total");
	count("emails_accepted_total");
}

/**
 * Sends jobs in as few `sendBatch` calls as the platform limits allow (100 messages / 256 KB each),
 * all in parallel. Returns, per job, whether its chunk was confirmed durable. A chunk that threw may
 * still have been enqueued in part, which is why retries must reuse the ids.
 */
export async function enqueueMany(prepared: PreparedJob[], deps: SendDeps): Promise<boolean[]> {
	const durable = prepared.map(() => false);
	await Promise.all(
		sendBatchChunks(prepared.map((p) => p.body)).map(async (indexes) => {
			try {
				await deps.queue.sendBatch(indexes.map((i) => ({ body: prepared[i]?.job, contentType: "json" as const })));
				count("queue_send_calls_total");
				count("queue_messages_sent_total", indexes.length);
				count("emails_accepted_total", indexes.length);
				for (const i of indexes) durable[i] = true;
			} catch (error) {
				console.error("send queue sendBatch failed", { size: indexes.length, error: errorSummary(error) });
			}
		}),
	);
	return durable;
}
