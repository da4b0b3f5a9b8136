// The queue job that posts one stored inbound message to its route's webhook, sent on the
// `mq-webhooks` queue beside the event fan-out jobs (workers/queue.ts tells them apart).
import { z } from "zod";

export const inboundWebhookJobSchema = z.object({
	v: z.literal(1),
	kind: z.literal("inbound_webhook"),
	inboundId: z.string().min(1),
	workspaceId: z.string().min(1),
});

export type InboundWebhookJob = z.infer<typeof inboundWebhookJobSchema>;

export function isInboundWebhookJob(body: unknown): boolean {
	return typeof body === "object" && body !== null && (body as { kind?: unknown }).kind === "inbound_webhook";
}

export async function queueInboundWebhook(queue: Queue, job: InboundWebhookJob): Promise<void> {
	await queue.send(job, { contentType: "json" });
}
