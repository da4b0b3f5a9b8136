// The one event path (DESIGN.md "Send consumer"): every status change becomes an event row written in
// the same D1 batch as the status, and the rows that batch really wrote are then fed to the `events`
// and `webhooks` queues, the hooks of rollups, recipient statuses and webhook fan-out. Publishing
// happens after the commit: an event is never announced for a change that did not happen.
import type { EventRow } from "../../db/repositories/events";
import type { EventType } from "../../db/schema";
import { newId } from "../../lib/ids";
import { count } from "../../lib/metrics";
import { sendAll } from "../../lib/queue-batches";
import type { EventJob } from "./consumer";

export type EventQueues = { events: Queue; webhooks: Queue };

export type StatusEvent = {
	workspaceId: string;
	messageId: string;
	recipient: string | null;
	type: EventType;
	data: Record<string, unknown>;
	at: number;
};

/** An event row for a status change the caller is about to write. */
export function eventRow(event: StatusEvent): EventRow {
	return {
		id: newId("evt"),
		workspace_id: event.workspaceId,
		message_id: event.messageId,
		recipient: event.recipient,
		type: event.type,
		data: JSON.stringify(event.data),
		created_at: event.at,
	};
}

function toJob(row: EventRow): EventJob {
	return {
		v: 1,
		id: row.id,
		workspaceId: row.workspace_id,
		messageId: row.message_id,
		recipient: row.recipient,
		type: row.type as EventType,
		data: JSON.parse(row.data) as Record<string, unknown>,
		createdAt: row.created_at,
	};
}

/**
 * Feeds committed event rows to both queues. The rows are already durable in D1, so a queue that
 * refuses them costs the hooks, not the record: it is logged and counted, never thrown.
 */
export async function publishEvents(rows: readonly EventRow[], queues: EventQueues): Promise<void> {
	if (rows.length === 0) return;
	const jobs = rows.map(toJob);
	const durable = (await Promise.all([sendAll(queues.events, jobs), sendAll(queues.webhooks, jobs)])).flat();
	const failed = durable.filter((d) => !d).length;
	count("events_published_total", rows.length);
	if (failed > 0) count("event_publish_failures_total", failed);
}
