// The `webhooks` queue consumer, the hook through which every event reaches customer endpoints.
// Signing and delivery to endpoints land with the webhooks work; until then an event of a workspace
// without an enabled endpoint (today: all of them, no API creates one) is done with, and any other is
// kept on the queue, retried into its DLQ rather than dropped.
import { errorSummary } from "../../lib/log";
import { STORAGE_RETRY_DELAY_SECONDS } from "../delivery/retry";
import { eventJobSchema } from "./consumer";

const UNDELIVERABLE_RETRY_SECONDS = 300;

export async function consumeWebhookBatch(batch: MessageBatch<unknown>, db: D1Database): Promise<void> {
	const workspaces = new Set<string>();
	for (const m of batch.messages) {
		const parsed = eventJobSchema.safeParse(m.body);
		if (parsed.success) workspaces.add(parsed.data.workspaceId);
	}
	let subscribed: Set<string>;
	try {
		const { results } = await db
			.prepare(
				"SELECT DISTINCT workspace_id FROM webhook_endpoints WHERE enabled = 1 AND workspace_id IN (SELECT value FROM json_each(?1))",
			)
			.bind(JSON.stringify([...workspaces]))
			.all<{ workspace_id: string }>();
		subscribed = new Set(results.map((r) => r.workspace_id));
	} catch (error) {
		console.error("webhooks consumer: endpoint lookup failed", { error: errorSummary(error) });
		batch.retryAll({ delaySeconds: STORAGE_RETRY_DELAY_SECONDS });
		return;
	}
	for (const m of batch.messages) {
		const parsed = eventJobSchema.safeParse(m.body);
		if (!parsed.success) m.retry({ delaySeconds: UNDELIVERABLE_RETRY_SECONDS });
		else if (subscribed.has(parsed.data.workspaceId)) m.retry({ delaySeconds: UNDELIVERABLE_RETRY_SECONDS });
		else m.ack();
	}
}
