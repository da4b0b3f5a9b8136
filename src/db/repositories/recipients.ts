// The recipients table (docs/recipients.md): filled on send by the consumer's outcome batch, moved by
// feedback (./feedback.ts), read and set through /v1/recipients. Emails are stored lower-case.
import { newId } from "../../lib/ids";

/** A recipient outcome as recordOutcomes binds it: `m` the message, `token` its lease. */
type SentRecipient = { email: string; status: string; tried: 0 | 1; m: string; token: string };

/**
 * One statement of the consumer's outcome batch: every recipient this batch sent to gets its row
 * (created when new) with sent_count and last_sent_at, only where the batch still holds the lease.
 */
export function countSends(db: D1Database, recipients: readonly SentRecipient[], now: number): D1PreparedStatement {
	const sent = recipients
		.filter((r) => r.status === "sent" && r.tried === 1)
		.map((r) => ({ id: newId("rcp"), email: r.email.toLowerCase(), m: r.m, token: r.token }));
	const f = (name: string) => `json_extract(r.value,'$.${name}')`;
	return db
		.prepare(
			`INSERT INTO recipients (id, workspace_id, email, sent_count, last_sent_at, created_at, updated_at)
			 SELECT min(${f("id")}), m.workspace_id, ${f("email")}, count(*), ?2, ?2, ?2
			 FROM json_each(?1) AS r JOIN messages m ON m.id = ${f("m")} AND m.lease_token = ${f("token")}
			 GROUP BY m.workspace_id, ${f("email")}
			 ON CONFLICT(workspace_id, email) DO UPDATE SET sent_count = recipients.sent_count + excluded.sent_count,
			   last_sent_at = excluded.last_sent_at, updated_at = excluded.updated_at`,
		)
		.bind(JSON.stringify(sent), now);
}
