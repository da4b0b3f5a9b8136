// Named queues (issue 9, seed 004): lanes inside a workspace with a priority, a rate per minute,
// retry settings and a pause switch. Every workspace has a `default` queue with a fixed id, so a
// message can name it before the row exists. Paused: the consumer does not claim the queue's
// messages and parks them in D1; resume un-parks and re-enqueues them (docs/rate-limits.md).
import {
	deleteQueue,
	drain,
	ensureQueue,
	findQueue,
	insertQueue,
	listQueues,
	type QueueFields,
	type QueueRow,
	queueStats,
	resume,
	setPaused,
	updateQueue,
	waitingIds,
} from "../../db/repositories/queues";
import type { Env } from "../../env";
import { ApiError, err, ok, type Result } from "../../errors";
import { newId } from "../../lib/ids";
import { count } from "../../lib/metrics";
import { sendAll } from "../../lib/queue-batches";
import { iso } from "../../lib/time";
import { type EventQueues, publishEvents } from "../events/emitter";
import { withPriority } from "../messages/bands";
import type { RedriveJob } from "../messages/model";
import { pushLimiterConfig } from "./config";

export const DEFAULT_QUEUE = "default";
/** Messages resume re-enqueues itself; any beyond wait in D1 as due and the recovery sweep takes them. */
export const RESUME_ENQUEUE_MAX = 5_000;

export function defaultQueueId(workspaceId: string): string {
	return `q_default_${workspaceId}`;
}

export type QueueDeps = { db: D1Database; limiter: Env["WORKSPACE_LIMITER"]; sendQueue: Queue; events: EventQueues };

export type QueueView = {
	id: string;
	name: string;
	priority: number;
	rate_per_minute: number | null;
	max_retries: number;
	retry_delays: number[];
	strategy: string | null;
	paused: boolean;
	created_at: string;
	updated_at: string;
};

function view(q: QueueRow): QueueView {
	return {
		id: q.id,
		name: q.name,
		priority: q.priority,
		rate_per_minute: q.rate_per_minute,
		max_retries: q.max_retries,
		retry_delays: JSON.parse(q.retry_delays) as number[],
		strategy: q.strategy,
		paused: q.paused === 1,
		created_at: iso(q.created_at),
		updated_at: iso(q.updated_at),
	};
}

const notFound = () => err(new ApiError("not_found", "No queue with this id in this workspace."));

/** `"queue"` on a send: a name or an id of the workspace's queues; none means `default`. */
export function resolveQueue(
	name: string | undefined,
	workspaceId: string,
	queues: readonly { id: string; name: string }[],
): Result<string, ApiError> {
	if (name === undefined || name === DEFAULT_QUEUE) return ok(defaultQueueId(workspaceId));
	const found = queues.find((q) => q.name === name || q.id === name);
	if (found) return ok(found.id);
	return err(
		new ApiError(
			"validation_error",
			`queue: no queue "${name}" in this workspace. Create it with POST /v1/queues (a new queue is known to every server within 30 s).`,
			[{ path: "queue", message: "unknown queue" }],
		),
	);
}

export async function queuesOf(deps: QueueDeps, workspaceId: string): Promise<QueueView[]> {
	await ensureQueue(deps.db, workspaceId, defaultQueueId(workspaceId), DEFAULT_QUEUE);
	return (await listQueues(deps.db, workspaceId)).map(view);
}

async function existing(deps: QueueDeps, workspaceId: string, id: string): Promise<QueueRow | null> {
	if (id === defaultQueueId(workspaceId)) await ensureQueue(deps.db, workspaceId, id, DEFAULT_QUEUE);
	return findQueue(deps.db, workspaceId, id);
}

export async function queueOf(deps: QueueDeps, workspaceId: string, id: string): Promise<Result<QueueView, ApiError>> {
	const row = await existing(deps, workspaceId, id);
	return row ? ok(view(row)) : notFound();
}

export async function createQueue(
	deps: QueueDeps,
	workspaceId: string,
	fields: QueueFields,
): Promise<Result<QueueView, ApiError>> {
	const row = await insertQueue(deps.db, workspaceId, newId("q"), fields);
	if (!row) return err(new ApiError("conflict", `This workspace already has a queue named "${fields.name}".`));
	await pushLimiterConfig(deps.db, deps.limiter, workspaceId);
	return ok(view(row));
}

export async function changeQueue(
	deps: QueueDeps,
	workspaceId: string,
	id: string,
	patch: Partial<QueueFields>,
): Promise<Result<QueueView, ApiError>> {
	const current = await existing(deps, workspaceId, id);
	if (!current) return notFound();
	if (current.name === DEFAULT_QUEUE && patch.name !== undefined && patch.name !== DEFAULT_QUEUE) {
		return err(new ApiError("conflict", "The default queue cannot be renamed."));
	}
	const fields: QueueFields = {
		name: patch.name ?? current.name,
		priority: patch.priority ?? current.priority,
		rate_per_minute: patch.rate_per_minute !== undefined ? patch.rate_per_minute : current.rate_per_minute,
		max_retries: patch.max_retries ?? current.max_retries,
		retry_delays: patch.retry_delays ?? (JSON.parse(current.retry_delays) as number[]),
		strategy: patch.strategy !== undefined ? patch.strategy : current.strategy,
	};
	const row = await updateQueue(deps.db, workspaceId, id, fields, Date.now());
	if (row === "missing") return notFound();
	if (row === "conflict")
		return err(new ApiError("conflict", `This workspace already has a queue named "${fields.name}".`));
	await pushLimiterConfig(deps.db, deps.limiter, workspaceId);
	return ok(view(row));
}

export async function removeQueue(deps: QueueDeps, workspaceId: string, id: string): Promise<Result<true, ApiError>> {
	if (id === defaultQueueId(workspaceId)) return err(new ApiError("conflict", "The default queue cannot be deleted."));
	const result = await deleteQueue(deps.db, workspaceId, id);
	if (result === "missing") return notFound();
	if (result === "busy") {
		return err(new ApiError("conflict", "The queue still has messages waiting or in flight; drain it first."));
	}
	await pushLimiterConfig(deps.db, deps.limiter, workspaceId);
	return ok(true);
}

export async function pauseQueue(
	deps: QueueDeps,
	workspaceId: string,
	id: string,
): Promise<Result<QueueView, ApiError>> {
	await existing(deps, workspaceId, id);
	const row = await setPaused(deps.db, workspaceId, id, Date.now());
	return row ? ok(view(row)) : notFound();
}

export type Resumed = { queue: QueueView; released: number };

/** Resumes the queue and re-enqueues what it held, oldest first. */
export async function resumeQueue(
	deps: QueueDeps,
	workspaceId: string,
	id: string,
): Promise<Result<Resumed, ApiError>> {
	await existing(deps, workspaceId, id);
	const row = await resume(deps.db, workspaceId, id, Date.now());
	if (!row) return notFound();
	let released = 0;
	let after = "";
	while (released < RESUME_ENQUEUE_MAX) {
		const page = await waitingIds(deps.db, workspaceId, id, after, 500);
		if (page.length === 0) break;
		// In the band of the queue's priority (messages/bands.ts).
		const jobs: RedriveJob[] = page.map((mid) =>
			withPriority({ v: 1, kind: "redrive", id: mid, workspaceId, reason: "resumed" } as RedriveJob, row.priority),
		);
		// A redrive the queue refuses is not lost: its row is due now, so the recovery sweep re-drives it.
		const durable = await sendAll(deps.sendQueue, jobs);
		released += durable.filter(Boolean).length;
		after = page.at(-1) ?? after;
		if (page.length < 500) break;
	}
	count("queue_releases_total", released);
	return ok({ queue: view(row), released });
}

export async function drainQueue(deps: QueueDeps, workspaceId: string, id: string): Promise<Result<number, ApiError>> {
	if (!(await existing(deps, workspaceId, id))) return notFound();
	const { cancelled, events } = await drain(deps.db, workspaceId, id, Date.now());
	await publishEvents(events, deps.events);
	return ok(cancelled);
}

export type QueueStatsView = {
	queue_id: string;
	paused: boolean;
	queued: number;
	processing: number;
	deferred: number;
	sent: number;
	failed: number;
	rejected: number;
	cancelled: number;
	suppressed: number;
	oldest_age_seconds: number | null;
};

export async function statsOf(
	deps: QueueDeps,
	workspaceId: string,
	id: string,
): Promise<Result<QueueStatsView, ApiError>> {
	const row = await existing(deps, workspaceId, id);
	if (!row) return notFound();
	const { counts, oldestWaitingAt } = await queueStats(deps.db, workspaceId, id);
	const n = (s: string) => counts[s] ?? 0;
	return ok({
		queue_id: id,
		paused: row.paused === 1,
		queued: n("queued"),
		processing: n("processing"),
		deferred: n("deferred"),
		sent: n("sent") + n("delivered"),
		failed: n("failed") + n("bounced"),
		rejected: n("rejected"),
		cancelled: n("cancelled"),
		suppressed: n("suppressed"),
		oldest_age_seconds:
			oldestWaitingAt === null ? null : Math.max(0, Math.floor((Date.now() - oldestWaitingAt) / 1000)),
	});
}
