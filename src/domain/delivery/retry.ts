// When a temporarily failed message is tried again (DESIGN.md: immediate, 30 s, 2 min, 10 min, 1 h, …).
// After the queue's max_retries (wrangler.toml) the message goes to the DLQ and becomes `failed`.

export const RETRY_DELAYS_SECONDS = [0, 30, 120, 600, 3600] as const;

/** Delay before the attempt that follows attempt number `attempt` (1-based). */
export function retryDelaySeconds(attempt: number): number {
	const index = Math.min(Math.max(attempt, 1), RETRY_DELAYS_SECONDS.length) - 1;
	return RETRY_DELAYS_SECONDS[index] ?? 3600;
}

/** Back-off when the consumer's own storage failed, so a D1 hiccup is not hammered. */
export const STORAGE_RETRY_DELAY_SECONDS = 10;
