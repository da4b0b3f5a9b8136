// The send DLQ consumer: whatever reaches it (retries exhausted, or a body the consumer could not use)
// becomes a visible `failed` message with a `failed` event, never a silent drop.
import { markFailed } from "../../db/repositories/delivery";
import { sendJobSchema } from "../messages/model";
import type { DeadLetter } from "./send-consumer";

function unwrap(body: unknown): { inner: unknown; reason: string } {
	if (typeof body === "object" && body !== null && "deadLettered" in body) {
		const letter = (body as DeadLetter).deadLettered;
		return { inner: letter.body, reason: letter.reason };
	}
	return { inner: body, reason: "delivery retries exhausted" };
}

export async function consumeSendDeadLetters(batch: MessageBatch<unknown>, db: D1Database): Promise<void> {
	const failures: { id: string; workspace_id: string; error: string }[] = [];
	for (const queued of batch.messages) {
		const { inner, reason } = unwrap(queued.body);
		const job = sendJobSchema.safeParse(inner);
		if (job.success) failures.push({ id: job.data.id, workspace_id: job.data.workspaceId, error: reason });
		// A body that is not even a job has no message to mark; the log is its only trace.
		else console.error("send DLQ: unreadable body", { reason, body: JSON.stringify(inner).slice(0, 2000) });
	}
	try {
		await markFailed(db, failures, Date.now());
		batch.ackAll();
	} catch (error) {
		console.error("send DLQ: marking failed messages failed", { error: String(error) });
		batch.retryAll({ delaySeconds: 30 });
	}
}
