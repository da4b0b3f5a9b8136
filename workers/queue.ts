// Routes a queue batch to its consumer by queue name (`mq-<kind>[-dlq][-<environment>]`).
import { consumeSendDeadLetters } from "../src/domain/delivery/dead-letters";
import { consumeSendBatch } from "../src/domain/delivery/send-consumer";
import { consumeEventBatch } from "../src/domain/events/consumer";
import { type Env, loadConfig } from "../src/env";

export type QueueKind = "send" | "send-dlq" | "events" | "events-dlq" | "webhooks" | "webhooks-dlq";

export function queueKind(name: string): QueueKind | null {
	const match = name.match(/^mq-(send|events|webhooks)(-dlq)?(?:-(?:staging|production))?$/);
	return match ? (`${match[1]}${match[2] ?? ""}` as QueueKind) : null;
}

export async function handleQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	loadConfig(env);
	const kind = queueKind(batch.queue);
	switch (kind) {
		case "send":
			return consumeSendBatch(batch, { db: env.DB, bodies: env.BODIES, deadLetter: env.SEND_DLQ });
		case "send-dlq":
			return consumeSendDeadLetters(batch, env.DB);
		case "events":
			return consumeEventBatch(batch, env.DB);
		default:
			// Webhook delivery lands with the webhooks issue and nothing produces to it yet; anything that
			// does arrive is retried into its DLQ rather than dropped.
			console.error("no consumer for queue", { queue: batch.queue, kind, size: batch.messages.length });
			batch.retryAll({ delaySeconds: 300 });
	}
}
