// The send DLQ consumer: whatever reaches it (a job the queue gave up on, or a body the consumer could
// not use) becomes a visible `failed` message with its reason and a `failed` event, never a silent
// drop, even when the job never reached D1: the row is then created from the job itself. This
// consumer has retries and a DLQ of its own (wrangler.toml), so a failure mark is not lost either.
import { type Failure, markFailed } from "../../db/repositories/delivery";
import { errorSummary } from "../../lib/log";
import { count } from "../../lib/metrics";
import { type EventQueues, publishEvents } from "../events/emitter";
import { queueJobSchema } from "../messages/model";
import { STORAGE_RETRY_DELAY_SECONDS } from "./retry";
import { messageRow, readStoredContent, recipientRows } from "./rows";
import type { DeadLetter } from "./send-consumer";

export type DeadLetterDeps = { db: D1Database; bodies: R2Bucket; events: EventQueues };

const EXHAUSTED = "the send queue gave up on this message after repeated consumer failures";

function unwrap(body: unknown): { inner: unknown; reason: string } {
	if (typeof body === "object" && body !== null && "deadLettered" in body) {
		const letter = (body as DeadLetter).deadLettered;
		return { inner: letter.body, reason: letter.reason };
	}
	return { inner: body, reason: EXHAUSTED };
}

async function failureOf(body: unknown, bodies: R2Bucket): Promise<Failure | null> {
	const { inner, reason } = unwrap(body);
	const parsed = queueJobSchema.safeParse(inner);
	if (!parsed.success) return null;
	const job = parsed.data;
	if (job.kind === "redrive")
		return { id: job.id, workspace_id: job.workspaceId, error: reason, row: null, recipients: [] };
	const message = job.message ?? (job.contentKey ? await readStoredContent(bodies, job.contentKey) : null);
	return {
		id: job.id,
		workspace_id: job.workspaceId,
		error: reason,
		row: messageRow(job, message),
		recipients: recipientRows(job.id, message),
	};
}

export async function consumeSendDeadLetters(batch: MessageBatch<unknown>, deps: DeadLetterDeps): Promise<void> {
	const failures: Failure[] = [];
	for (const queued of batch.messages) {
		const failure = await failureOf(queued.body, deps.bodies);
		if (failure) failures.push(failure);
		// A body that is not even a job names no message to mark; its queue id is its only trace.
		else console.error("send DLQ: body is not a send job", { queueMessageId: queued.id });
	}
	let events: Awaited<ReturnType<typeof markFailed>>;
	try {
		events = await markFailed(deps.db, failures, Date.now());
	} catch (error) {
		console.error("send DLQ: marking messages failed did not work", { error: errorSummary(error) });
		batch.retryAll({ delaySeconds: STORAGE_RETRY_DELAY_SECONDS });
		return;
	}
	count("messages_failed_total", events.length);
	await publishEvents(events, deps.events);
	batch.ackAll();
}
