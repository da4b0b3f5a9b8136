// Counting in sliding windows made of fixed slices (docs/rate-limits.md): a window of W split into B
// slices counts the current slice and the B before it, so a unit is counted for at least W and at
// most W + W/B after it was taken. Counting a little too long is what makes the limit strict: no
// interval of length W ever holds more than `limit` units. Pure; the engine loads and stores slices.
import { WINDOW_SPEC, type Window } from "./model";

export type Slices = Map<number, number>;

export function sliceMs(window: Window): number {
	const spec = WINDOW_SPEC[window];
	return spec.ms / spec.buckets;
}

export function sliceOf(window: Window, at: number): number {
	return Math.floor(at / sliceMs(window));
}

/** The oldest slice still counted at `now`. */
export function oldestCounted(window: Window, now: number): number {
	return sliceOf(window, now) - WINDOW_SPEC[window].buckets;
}

/** When a unit taken in `slice` stops being counted. */
export function sliceExpiry(window: Window, slice: number): number {
	return (slice + WINDOW_SPEC[window].buckets + 1) * sliceMs(window);
}

export function used(slices: Slices, window: Window, now: number): number {
	const from = oldestCounted(window, now);
	let sum = 0;
	for (const [slice, n] of slices) if (slice >= from) sum += n;
	return sum;
}

/**
 * The earliest time at or after `now` when `need` more units fit under `limit`, or null when they
 * never can (need > limit).
 */
export function fitsAt(slices: Slices, window: Window, now: number, need: number, limit: number): number | null {
	if (need > limit) return null;
	const from = oldestCounted(window, now);
	const live = [...slices].filter(([slice, n]) => slice >= from && n > 0).sort((a, b) => a[0] - b[0]);
	let usage = live.reduce((sum, [, n]) => sum + n, 0);
	if (usage + need <= limit) return now;
	for (const [slice, n] of live) {
		usage -= n;
		if (usage + need <= limit) return Math.max(now, sliceExpiry(window, slice));
	}
	return now;
}

/** When the oldest counted unit expires (the next time `remaining` grows), or `now` when none is counted. */
export function nextExpiry(slices: Slices, window: Window, now: number): number {
	const from = oldestCounted(window, now);
	let oldest: number | null = null;
	for (const [slice, n] of slices) if (slice >= from && n > 0 && (oldest === null || slice < oldest)) oldest = slice;
	return oldest === null ? now : sliceExpiry(window, oldest);
}
