// Routes a queue batch to its consumer by queue name (`mq-<kind>[-high][-dlq][-<environment>]`).

import { gatewayBreakers } from "../src/domain/delivery/breakers";
import { consumeSendDeadLetters } from "../src/domain/delivery/dead-letters";
import { consumeSendBatch } from "../src/domain/delivery/send-consumer";
import { consumeEventBatch } from "../src/domain/events/consumer";
import { consumeWebhookBatch } from "../src/domain/events/webhooks";
import { sendQueues } from "../src/domain/messages/bands";
import { type Env, loadConfig } from "../src/env";

export type QueueKind = "send" | "send-dlq" | "events" | "events-dlq" | "webhooks" | "webhooks-dlq";

export function queueKind(name: string): QueueKind | null {
	// `mq-send-high` (the high-priority band, src/domain/messages/bands.ts) is a send queue too.
	const match = name.match(/^mq-(send|events|webhooks)(-high)?(-dlq)?(?:-(?:staging|production))?$/);
	if (!match || (match[2] && (match[1] !== "send" || match[3]))) return null;
	return `${match[1]}${match[3] ?? ""}` as QueueKind;
}

export async function handleQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
	const config = loadConfig(env);
	const events = { events: env.EVENTS_QUEUE, webhooks: env.WEBHOOKS_QUEUE };
	const kind = queueKind(batch.queue);
	switch (kind) {
		case "send":
			return consumeSendBatch(batch, {
				breakers: (plan) => gatewayBreakers(env.GATEWAY_BREAKER, plan),
				db: env.DB,
				sendQueue: sendQueues(env),
				deadLetter: env.SEND_DLQ,
				events,
				limiter: env.WORKSPACE_LIMITER,
				gateways: {
					bodies: env.BODIES,
					fetch: (input, init) => fetch(input, init),
					environment: config.ENVIRONMENT,
					encryptionKey: config.ENCRYPTION_KEY,
					timeoutMs: config.DELIVERY_TIMEOUT_MS,
				},
			});
		case "send-dlq":
			return consumeSendDeadLetters(batch, { db: env.DB, bodies: env.BODIES, events });
		case "events":
			return consumeEventBatch(batch, env.DB);
		case "webhooks":
			return consumeWebhookBatch(batch, env.DB);
		default:
			// The events and webhooks DLQs keep what lands there for inspection; nothing consumes them.
			console.error("no consumer for queue", { queue: batch.queue, kind, size: batch.messages.length });
			batch.retryAll({ delaySeconds: 300 });
	}
}
