// The `events` queue consumer: tracking hits, provider webhooks and inbound mail push events here
// instead of writing D1 on their request path; this writes each batch to D1 in one statement.
import { z } from "zod";
import { insertEvents } from "../../db/repositories/events";
import { EVENT_TYPES } from "../../db/schema";
import { errorSummary } from "../../lib/log";
import { STORAGE_RETRY_DELAY_SECONDS } from "../delivery/retry";

export const eventJobSchema = z.object({
	v: z.literal(1),
	id: z.string().min(1),
	workspaceId: z.string().min(1),
	messageId: z.string().nullable(),
	recipient: z.string().nullable(),
	type: z.enum(EVENT_TYPES),
	data: z.record(z.string(), z.unknown()),
	createdAt: z.number(),
});

export type EventJob = z.infer<typeof eventJobSchema>;

export async function consumeEventBatch(batch: MessageBatch<unknown>, db: D1Database): Promise<void> {
	const rows = [];
	const valid: Message<unknown>[] = [];
	for (const queued of batch.messages) {
		const parsed = eventJobSchema.safeParse(queued.body);
		if (!parsed.success) {
			// Retrying cannot fix a malformed body; after max_retries it lands in the events DLQ for inspection.
			console.error("events consumer: invalid event", { issue: parsed.error.issues[0]?.message });
			queued.retry();
			continue;
		}
		const e = parsed.data;
		rows.push({
			id: e.id,
			workspace_id: e.workspaceId,
			message_id: e.messageId,
			recipient: e.recipient,
			type: e.type,
			data: JSON.stringify(e.data),
			created_at: e.createdAt,
		});
		valid.push(queued);
	}
	try {
		await insertEvents(db, rows);
		for (const queued of valid) queued.ack();
	} catch (error) {
		console.error("events consumer: insert failed", { error: errorSummary(error) });
		for (const queued of valid) queued.retry({ delaySeconds: STORAGE_RETRY_DELAY_SECONDS });
	}
}
