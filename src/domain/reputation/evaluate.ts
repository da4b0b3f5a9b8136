// The cron's reputation task: read every active workspace's 24 h and 7 d counts in one query, judge
// them (model.ts), write only the state changes with their events in one batch and publish those,
// and drop counters no window needs any more. A tick that changes nothing writes nothing.
import {
	applyStateChanges,
	type EvaluationRow,
	evaluationRows,
	pruneCounters,
	type StateChange,
} from "../../db/repositories/reputation";
import type { ReputationState } from "../../db/schema";
import { type EventQueues, publishEvents } from "../events/emitter";
import { assess, nextState, reputationSettingsOf, type WindowCounts, windowStart } from "./model";

export type ReputationDeps = { db: D1Database; events: EventQueues };

export type EvaluationSummary = { evaluated: number; changed: number; events: number; pruned: number };

export function countsOfRow(
	r:
		| EvaluationRow
		| { sent24: number; bounced24: number; complained24: number; sent: number; bounced: number; complained: number },
): WindowCounts {
	return {
		"24h": { sent: r.sent24, bounced: r.bounced24, complained: r.complained24 },
		"7d": { sent: r.sent, bounced: r.bounced, complained: r.complained },
	};
}

export async function evaluateReputation(deps: ReputationDeps, now: number): Promise<EvaluationSummary> {
	const from7 = windowStart("7d", now);
	const rows = await evaluationRows(deps.db, from7, windowStart("24h", now));
	const changes: StateChange[] = [];
	for (const row of rows) {
		const current: ReputationState = row.state ?? "ok";
		const settings = reputationSettingsOf(parseSettings(row.settings).reputation);
		const counts = countsOfRow(row);
		const a = assess(counts, settings);
		const next = nextState(current, a.level);
		if (next.state === current) continue;
		const judged = a.window ? counts[a.window] : null;
		changes.push({
			workspaceId: row.workspace_id,
			from: current,
			to: next.state,
			reason: a.reason,
			now,
			event: next.event
				? {
						id: `${row.workspace_id}:${next.event}:${now}`,
						workspace_id: row.workspace_id,
						message_id: null,
						recipient: null,
						type: next.event,
						data: JSON.stringify({
							state: next.state,
							previous: current,
							reason: a.reason,
							window: a.window,
							bounce_rate: a.bounceRate,
							complaint_rate: a.complaintRate,
							...(judged ?? {}),
							...(next.state === "throttled" ? { throttle_per_minute: settings.throttle_per_minute } : {}),
						}),
						created_at: now,
					}
				: null,
		});
	}
	const written = await applyStateChanges(deps.db, changes);
	await publishEvents(written, deps.events);
	// A day's margin past the 7 d window, so a late counter of the window's first hour is never lost.
	const pruned = await pruneCounters(deps.db, from7 - 24);
	return { evaluated: rows.length, changed: changes.length, events: written.length, pruned };
}

function parseSettings(json: string): Record<string, unknown> {
	try {
		const v = JSON.parse(json) as unknown;
		return v && typeof v === "object" ? (v as Record<string, unknown>) : {};
	} catch {
		return {};
	}
}
