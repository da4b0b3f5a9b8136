// Reputation in D1 (docs/reputation.md): the hourly counters the event writers add to in their own
// batches, the grouped reads the cron and GET /v1/reputation make of them, the state rows with their
// transition events, and the settings kept in workspaces.settings.reputation.
import type { ReputationState } from "../schema";
import type { EventRow } from "./events";

export type CountRow = { sent: number; bounced: number; complained: number };

/** How much one event adds to its workspace's counters: the one definition of what counts. */
export function countsOfEvent(e: Pick<EventRow, "type" | "data">): CountRow {
	const kind = e.type === "rejected" ? kindOf(e.data) : null;
	return {
		sent: e.type === "sent" ? 1 : 0,
		// Hard bounces and rejects heard back (recordFeedback); a `rejected` written by the consumer (a
		// rate limit, a gateway refusing at submission) never reached a mailbox provider and does not count.
		bounced: e.type === "bounced" || kind === "reject" ? 1 : 0,
		complained: e.type === "complained" ? 1 : 0,
	};
}

function kindOf(data: string): unknown {
	try {
		return (JSON.parse(data) as { kind?: unknown }).kind;
	} catch {
		return null;
	}
}

/**
 * Which rows of the batch are really written, checked in SQL in the same transaction:
 * - `lease`: the event's message still holds `token` (the send consumer: put it before the statement
 *   that releases the lease);
 * - `new`: no event with this id exists yet (put it before the events insert, so a replay adds nothing).
 */
export type CountGuard = "lease" | "new";

/**
 * One statement adding the countable events of a batch to the hourly counters, grouped per workspace
 * and hour (one upserted row each, not one per event); with nothing countable it writes nothing. Put
 * it in the batch that writes the events, where its guard says.
 */
export function reputationIncrements(
	db: D1Database,
	events: readonly (EventRow & { token?: string })[],
	guard: CountGuard,
): D1PreparedStatement {
	const rows = events.flatMap((e) => {
		const c = countsOfEvent(e);
		if (c.sent + c.bounced + c.complained === 0) return [];
		const hour = Math.floor(e.created_at / 3_600_000);
		return [{ id: e.id, w: e.workspace_id, h: hour, m: e.message_id, t: e.token ?? null, ...c }];
	});
	const v = (name: string) => `json_extract(r.value,'$.${name}')`;
	const where =
		guard === "lease"
			? `EXISTS (SELECT 1 FROM messages h WHERE h.id = ${v("m")} AND h.lease_token = ${v("t")})`
			: `NOT EXISTS (SELECT 1 FROM events e WHERE e.id = ${v("id")})`;
	return db
		.prepare(
			`INSERT INTO reputation_counters (workspace_id, hour, sent, bounced, complained)
			 SELECT ${v("w")}, ${v("h")}, SUM(${v("sent")}), SUM(${v("bounced")}), SUM(${v("complained")})
			 FROM json_each(?1) AS r WHERE ${where}
			 GROUP BY ${v("w")}, ${v("h")}
			 ON CONFLICT(workspace_id, hour) DO UPDATE SET sent = sent + excluded.sent,
			   bounced = bounced + excluded.bounced, complained = complained + excluded.complained`,
		)
		.bind(JSON.stringify(rows));
}

export type WindowSums = { sent24: number; bounced24: number; complained24: number } & CountRow;

const SUMS = `COALESCE(SUM(CASE WHEN hour >= ?2 THEN sent END), 0) AS sent24,
	COALESCE(SUM(CASE WHEN hour >= ?2 THEN bounced END), 0) AS bounced24,
	COALESCE(SUM(CASE WHEN hour >= ?2 THEN complained END), 0) AS complained24,
	COALESCE(SUM(sent), 0) AS sent, COALESCE(SUM(bounced), 0) AS bounced, COALESCE(SUM(complained), 0) AS complained`;

/** One workspace's sums over the 7 d window (hours ≥ from7) and the 24 h one (hours ≥ from24). */
export async function workspaceSums(db: D1Database, workspaceId: string, from7: number, from24: number) {
	const row = await db
		.prepare(`SELECT ${SUMS} FROM reputation_counters WHERE workspace_id = ?3 AND hour >= ?1`)
		.bind(from7, from24, workspaceId)
		.first<WindowSums>();
	return row ?? { sent24: 0, bounced24: 0, complained24: 0, sent: 0, bounced: 0, complained: 0 };
}

export type StateRow = { state: ReputationState; since: number; reason: string | null };

export type EvaluationRow = WindowSums & {
	workspace_id: string;
	settings: string;
	state: ReputationState | null;
	since: number | null;
};

/**
 * What the cron judges, in one query: every workspace with counts in the 7 d window or a state that
 * is not ok (a quiet throttled workspace must still recover), with its settings and state.
 */
export async function evaluationRows(db: D1Database, from7: number, from24: number): Promise<EvaluationRow[]> {
	const { results } = await db
		.prepare(
			`WITH c AS (SELECT workspace_id, ${SUMS} FROM reputation_counters WHERE hour >= ?1 GROUP BY workspace_id),
			 s AS (SELECT workspace_id, state, since FROM reputation_states WHERE state <> 'ok')
			 SELECT w.id AS workspace_id, w.settings, COALESCE(c.sent24, 0) AS sent24, COALESCE(c.bounced24, 0) AS bounced24,
			   COALESCE(c.complained24, 0) AS complained24, COALESCE(c.sent, 0) AS sent, COALESCE(c.bounced, 0) AS bounced,
			   COALESCE(c.complained, 0) AS complained, st.state, st.since
			 FROM workspaces w LEFT JOIN c ON c.workspace_id = w.id LEFT JOIN reputation_states st ON st.workspace_id = w.id
			 WHERE w.id IN (SELECT workspace_id FROM c UNION SELECT workspace_id FROM s)`,
		)
		.bind(from7, from24)
		.all<EvaluationRow>();
	return results;
}

export type StateChange = {
	workspaceId: string;
	from: ReputationState;
	to: ReputationState;
	reason: string | null;
	/** The event this change raises, written only when the change itself is. */
	event: EventRow | null;
	now: number;
};

/**
 * Writes state changes and their events in one batch. Each change applies only where the state is
 * still `from` (two overlapping cron runs cannot both move it), and its event only where the change
 * applied, with an id naming workspace, type and time, so nothing is raised twice. Returns the events
 * written.
 */
export async function applyStateChanges(db: D1Database, changes: readonly StateChange[]): Promise<EventRow[]> {
	if (changes.length === 0) return [];
	const statements = changes.flatMap((c) => {
		const write = db
			.prepare(
				`INSERT INTO reputation_states (workspace_id, state, since, reason, updated_at) VALUES (?1, ?2, ?3, ?4, ?3)
				 ON CONFLICT(workspace_id) DO UPDATE SET state = ?2, since = ?3, reason = ?4, updated_at = ?3
				 WHERE reputation_states.state = ?5`,
			)
			.bind(c.workspaceId, c.to, c.now, c.reason, c.from);
		if (!c.event) return [write];
		const e = c.event;
		const event = db
			.prepare(
				`INSERT INTO events (id, workspace_id, message_id, recipient, type, data, created_at)
				 SELECT ?1, ?2, NULL, NULL, ?3, ?4, ?5
				 WHERE EXISTS (SELECT 1 FROM reputation_states WHERE workspace_id = ?2 AND state = ?6 AND since = ?5)
				 ON CONFLICT DO NOTHING RETURNING id, workspace_id, message_id, recipient, type, data, created_at`,
			)
			.bind(e.id, e.workspace_id, e.type, e.data, e.created_at, c.to);
		return [write, event];
	});
	const results = await db.batch(statements);
	return results.flatMap((r) => (r.results ?? []) as EventRow[]);
}

export async function findState(db: D1Database, workspaceId: string): Promise<StateRow | null> {
	return db
		.prepare("SELECT state, since, reason FROM reputation_states WHERE workspace_id = ?1")
		.bind(workspaceId)
		.first<StateRow>();
}

/** Counters older than every window are of no more use. */
export async function pruneCounters(db: D1Database, beforeHour: number): Promise<number> {
	const r = await db.prepare("DELETE FROM reputation_counters WHERE hour < ?1").bind(beforeHour).run();
	return r.meta.changes;
}

/** `workspaces.settings.reputation` as stored (undefined when never set); null when there is no workspace. */
export async function findReputationSettings(db: D1Database, workspaceId: string): Promise<{ stored: unknown } | null> {
	const row = await db
		.prepare("SELECT json_extract(settings, '$.reputation') AS r FROM workspaces WHERE id = ?1")
		.bind(workspaceId)
		.first<{ r: string | null }>();
	if (!row) return null;
	return { stored: row.r === null ? undefined : (JSON.parse(row.r) as unknown) };
}

/** Sets `settings.reputation` in one statement; json_set keeps every other settings key. */
export async function writeReputationSettings(
	db: D1Database,
	workspaceId: string,
	settings: Record<string, number>,
	now: number,
): Promise<boolean> {
	const r = await db
		.prepare(
			`UPDATE workspaces SET settings = json_set(coalesce(settings, '{}'), '$.reputation', json(?2)), updated_at = ?3
			 WHERE id = ?1`,
		)
		.bind(workspaceId, JSON.stringify(settings), now)
		.run();
	return r.meta.changes > 0;
}
