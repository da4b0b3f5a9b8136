// Batched event writes for the `events` queue consumer.
import { count } from "../../lib/metrics";

export type EventRow = {
	id: string;
	workspace_id: string;
	message_id: string | null;
	recipient: string | null;
	type: string;
	data: string;
	created_at: number;
};

/** Inserts a consumer batch of events in one statement; known ids are skipped, so replays are harmless. */
export async function insertEvents(db: D1Database, rows: EventRow[]): Promise<void> {
	if (rows.length === 0) return;
	await db
		.prepare(
			`INSERT INTO events (id, workspace_id, message_id, recipient, type, data, created_at)
			 SELECT json_extract(value,'$.id'), json_extract(value,'$.workspace_id'), json_extract(value,'$.message_id'),
			   json_extract(value,'$.recipient'), json_extract(value,'$.type'), json_extract(value,'$.data'),
			   json_extract(value,'$.created_at')
			 FROM json_each(?1) WHERE true
			 ON CONFLICT(id) DO NOTHING`,
		)
		.bind(JSON.stringify(rows))
		.run();
	count("d1_write_batches_total");
}
