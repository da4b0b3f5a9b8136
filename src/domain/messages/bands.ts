// Priority bands of the send path (docs/rate-limits.md "Priority under contention"): jobs of queues
// with priority HIGH_BAND_MIN_PRIORITY or more go to the `mq-send-high` Cloudflare Queue, the rest to
// `mq-send`. Both feed the same consumer, but each has its own backlog, so urgent mail is never read
// behind a large low-priority backlog. Every producer of send jobs gets its queue from here.
import { bandedQueue } from "../../lib/queue-batches";

export const HIGH_BAND_MIN_PRIORITY = 7;

export type SendQueueBindings = { SEND_QUEUE: Queue; SEND_QUEUE_HIGH?: Queue };

export function isHighBand(priority: number | undefined): boolean {
	return priority !== undefined && priority >= HIGH_BAND_MIN_PRIORITY;
}

function jobPriority(body: unknown): number | undefined {
	if (typeof body !== "object" || body === null || !("priority" in body)) return undefined;
	const p = (body as { priority: unknown }).priority;
	return typeof p === "number" ? p : undefined;
}

/** The producer for send jobs: each job goes to the band its `priority` names. */
export function sendQueues(env: SendQueueBindings): Queue {
	return bandedQueue(env.SEND_QUEUE, env.SEND_QUEUE_HIGH, (body) => isHighBand(jobPriority(body)));
}

/** A job's `priority` field: set only when known, so older jobs and tests stay valid. */
export function withPriority<T extends object>(job: T, priority: number | undefined): T & { priority?: number } {
	return priority === undefined ? job : { ...job, priority };
}
