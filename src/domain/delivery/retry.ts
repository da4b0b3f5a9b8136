// The delivery attempt schedule, kept in D1 (`attempts`, `next_attempt_at`) rather than in the queue's
// own retry count, so that deferrals (limits, paused queues, held leases) never spend it: only real
// delivery failures count (DESIGN.md: immediate, 30 s, 2 min, 10 min, 1 h, then hourly).
import { HOUR } from "../../lib/time";

export const RETRY_DELAYS_SECONDS = [0, 30, 120, 600, 3600] as const;
/** Delivery attempts after the first one before a message fails for good. */
export const MAX_RETRIES = 8;
/** A message still undelivered this long after it was accepted fails for good. */
export const MAX_AGE_MS = 72 * HOUR;

/** A queue's retry schedule (`/v1/queues`), or the defaults above. */
export type RetryPolicy = { maxRetries: number; delaysSeconds: readonly number[] };

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: MAX_RETRIES, delaysSeconds: RETRY_DELAYS_SECONDS };

/** Delay before the attempt that follows attempt number `attempt` (1-based); past the list, its last delay. */
export function retryDelaySeconds(attempt: number, delays: readonly number[] = RETRY_DELAYS_SECONDS): number {
	const index = Math.min(Math.max(attempt, 1), delays.length) - 1;
	return delays[index] ?? 3600;
}

/** True when a message that just failed its `attempts`-th attempt may not be tried again. */
export function retriesExhausted(
	attempts: number,
	acceptedAt: number,
	now: number,
	maxRetries: number = MAX_RETRIES,
): boolean {
	return attempts > maxRetries || now - acceptedAt >= MAX_AGE_MS;
}

/** Back-off when the consumer's own storage failed, so a D1 hiccup is not hammered. */
export const STORAGE_RETRY_DELAY_SECONDS = 10;

/** A suspended workspace's mail is looked at again this often; a resumed workspace sends within it. */
export const SUSPENDED_HOLD_SECONDS = 300;

/** How long a claim holds a message: well above a batch's deliveries (DELIVERY_TIMEOUT_MS each, in parallel). */
export const LEASE_MS = 5 * 60 * 1000;

/** Cloudflare Queues delay a message by at most 12 h; a later attempt waits in D1 for the cron. */
export const MAX_QUEUE_DELAY_SECONDS = 12 * 60 * 60;
