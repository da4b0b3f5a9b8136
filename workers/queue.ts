// Routes a queue batch to its consumer by queue name (`mq-<kind>[-high][-dlq][-<environment>]`).

import { gatewayBreakers } from "../src/domain/delivery/breakers";
import { consumeSendDeadLetters } from "../src/domain/delivery/dead-letters";
import { consumeSendBatch } from "../src/domain/delivery/send-consumer";
import { consumeEventBatch } from "../src/domain/events/consumer";
import { consumeWebhookBatch } from "../src/domain/events/webhooks";
import { deliverInboundWebhooks } from "../src/domain/inbound/webhook-delivery";
import { isInboundWebhookJob } from "../src/domain/inbound/webhook-job";
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
				verp: { signingKey: config.SIGNING_KEY, bounceDomain: config.BOUNCE_DOMAIN },
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
		case "webhooks": {
			// Inbound route webhooks (issue 11) share the queue with the event fan-out jobs.
			const inbound = batch.messages.filter((m) => isInboundWebhookJob(m.body));
			const rest = batch.messages.filter((m) => !isInboundWebhookJob(m.body));
			await deliverInboundWebhooks(inbound, {
				db: env.DB,
				bodies: env.BODIES,
				signingKey: config.SIGNING_KEY,
				encryptionKey: config.ENCRYPTION_KEY,
				publicUrl: config.PUBLIC_URL,
				fetch: (input, init) => fetch(input, init),
				now: Date.now,
			});
			if (rest.length === 0) return;
			return consumeWebhookBatch(subBatch(batch, rest), env.DB);
		}
		default:
			// The events and webhooks DLQs keep what lands there for inspection; nothing consumes them.
			console.error("no consumer for queue", { queue: batch.queue, kind, size: batch.messages.length });
			batch.retryAll({ delaySeconds: 300 });
	}
}

/** The part of a batch one consumer handles; `ackAll`/`retryAll` touch only those messages. */
function subBatch(batch: MessageBatch<unknown>, messages: readonly Message<unknown>[]): MessageBatch<unknown> {
	return {
		queue: batch.queue,
		metadata: batch.metadata,
		messages,
		ackAll: () => {
			for (const m of messages) m.ack();
		},
		retryAll: (options) => {
			for (const m of messages) m.retry(options);
		},
	};
}
