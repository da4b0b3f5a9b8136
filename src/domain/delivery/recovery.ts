// The recovery sweep (cron, every minute): once a message has a row, D1 alone is enough to finish it.
// A row whose queue message is gone (a consumer that died after claiming, a purged or in-memory
// queue, a long deferral parked in D1) is found once it is past its due time plus a grace and
// re-enqueued as a redrive, with a `requeued` event. Re-enqueueing a row whose queue message still
// exists is harmless: the lease and the per-recipient provider keys make the second copy a no-op.
import { insertRequeuedEvents, recoveryStats, type Stranded, takeStranded } from "../../db/repositories/recovery";
import { ulidTime } from "../../lib/ids";
import { count } from "../../lib/metrics";
import { sendAll } from "../../lib/queue-batches";
import { MINUTE } from "../../lib/time";
import { type EventQueues, publishEvents } from "../events/emitter";
import { withPriority } from "../messages/bands";
import type { RedriveJob } from "../messages/model";
import { LEASE_MS } from "./retry";

/**
 * Graces, chosen against how late a live queue message can be. A lease already outlasts a batch
 * (LEASE_MS), so one minute more is enough. A deferral's queue delay fires within seconds of due, and
 * a queued row is claimed in the transaction that writes it, so two minutes cover a busy queue.
 */
export const LEASE_GRACE_MS = MINUTE;
export const DUE_GRACE_MS = 2 * MINUTE;
/** Rows re-driven per reason per run: the sweep reads at most 3 × this many rows a minute. */
export const SWEEP_LIMIT = 200;

export type SweepDeps = { db: D1Database; sendQueue: Queue; events: EventQueues };

export type SweepResult = {
	redriven: number;
	byReason: Record<Stranded["reason"], number>;
	enqueueFailures: number;
	/** D1's own figures for the candidate statements of the run. */
	rowsRead: number;
	d1Ms: number;
};

const emptyResult = (): SweepResult => ({
	redriven: 0,
	byReason: { lease_expired: 0, deferred_overdue: 0, queued_unclaimed: 0 },
	enqueueFailures: 0,
	rowsRead: 0,
	d1Ms: 0,
});

/**
 * One run. `orphaned` says no consumer can be alive (the local relay just started, its in-memory
 * queue empty): then every non-final row is stranded, whatever its lease or due time says.
 */
export async function sweepStranded(deps: SweepDeps, now: number, options: { orphaned?: boolean } = {}) {
	const orphaned = options.orphaned === true;
	const { stranded, rowsRead, d1Ms } = await takeStranded(deps.db, {
		now,
		// Orphaned: every lease taken before `now` (a lease taken since by the new consumer ends later), and
		// every row due by `now` (rows this sweep re-drives are due exactly `now`, so a second run skips them).
		leaseCutoff: orphaned ? now + LEASE_MS : now - LEASE_GRACE_MS,
		deferredCutoff: orphaned ? now : now - DUE_GRACE_MS,
		queuedCutoff: orphaned ? now : now - DUE_GRACE_MS,
		limit: SWEEP_LIMIT,
	});
	const result: SweepResult = { ...emptyResult(), rowsRead, d1Ms };
	if (stranded.length === 0) return result;
	// Each in the band of its queue's priority (messages/bands.ts).
	const jobs: RedriveJob[] = stranded.map((s) =>
		withPriority(
			{ v: 1, kind: "redrive", id: s.id, workspaceId: s.workspace_id, reason: "recovered" } as RedriveJob,
			s.priority ?? undefined,
		),
	);
	// Rows whose redrive the queue refuses are due now: the next run takes them again after the grace.
	const durable = await sendAll(deps.sendQueue, jobs);
	const sent = stranded.filter((_, i) => durable[i]);
	await publishEvents(await insertRequeuedEvents(deps.db, sent, now), deps.events);
	for (const s of sent) result.byReason[s.reason]++;
	result.redriven = sent.length;
	result.enqueueFailures = stranded.length - sent.length;
	count("messages_requeued_total", sent.length);
	return result;
}

/** Sweeps until nothing is left (bounded), for the local start-up where everything is orphaned. */
export async function sweepAllOrphans(deps: SweepDeps, now: number, maxRuns = 50): Promise<SweepResult> {
	const total = emptyResult();
	for (let run = 0; run < maxRuns; run++) {
		const r = await sweepStranded(deps, now, { orphaned: true });
		total.redriven += r.redriven;
		total.enqueueFailures += r.enqueueFailures;
		total.rowsRead += r.rowsRead;
		total.d1Ms += r.d1Ms;
		for (const k of Object.keys(r.byReason) as Stranded["reason"][]) total.byReason[k] += r.byReason[k];
		if (r.redriven + r.enqueueFailures < SWEEP_LIMIT) break;
	}
	return total;
}

/**
 * The workspace's recovery figures in Prometheus text: messages re-driven by reason (from the
 * `requeued` events, so every isolate reports the same) and, per non-final status, the age of the
 * oldest message, a gauge to alert on (it grows without bound only when something is stranded).
 */
export async function recoveryMetricsText(db: D1Database, workspaceId: string, now: number): Promise<string> {
	const stats = await recoveryStats(db, workspaceId);
	const lines = ["# TYPE mq_messages_redriven_total counter"];
	for (const [reason, n] of Object.entries(stats.redriven))
		lines.push(`mq_messages_redriven_total{reason="${reason}"} ${n}`);
	lines.push("# TYPE mq_oldest_unfinished_message_age_seconds gauge");
	for (const [status, id] of Object.entries(stats.oldestIds)) {
		const at = id ? ulidTime(id) : null;
		const age = at === null ? 0 : Math.max(0, Math.round((now - at) / 1000));
		lines.push(`mq_oldest_unfinished_message_age_seconds{status="${status}"} ${age}`);
	}
	return `${lines.join("\n")}\n`;
}
