// A gateway's rolling send statistics in bounded memory: per-minute buckets (kept one hour) and
// per-hour buckets (kept one day), each with counts and a latency histogram over fixed bins, so
// p50/p95 cost the same whatever the volume. A percentile is interpolated inside its bin, so it is
// exact to the bin's width (about ±25 % of the value between 100 ms and 30 s).
import type { WindowStats } from "./breaker-types";

/** Upper bounds of the latency bins, in ms; one more bin holds everything slower. */
export const LATENCY_BOUNDS_MS = [
	10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 20_000,
	30_000, 60_000, 120_000,
] as const;

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

export type BucketKind = "minute" | "hour";
export const BUCKET_MS: Record<BucketKind, number> = { minute: MINUTE_MS, hour: HOUR_MS };
/** How many buckets of each kind make "the last hour" and "the last day" (the current one included). */
export const BUCKETS_KEPT: Record<BucketKind, number> = { minute: 60, hour: 24 };

export type StatsBucket = {
	start: number;
	sends: number;
	successes: number;
	failures: number;
	/** Counts per bin of LATENCY_BOUNDS_MS, plus one overflow bin. */
	hist: number[];
};

export function emptyBucket(start: number): StatsBucket {
	return { start, sends: 0, successes: 0, failures: 0, hist: new Array(LATENCY_BOUNDS_MS.length + 1).fill(0) };
}

export function bucketStart(kind: BucketKind, now: number): number {
	return Math.floor(now / BUCKET_MS[kind]) * BUCKET_MS[kind];
}

/** The oldest bucket start that still belongs to the window of `kind` at `now`. */
export function oldestKept(kind: BucketKind, now: number): number {
	return bucketStart(kind, now) - (BUCKETS_KEPT[kind] - 1) * BUCKET_MS[kind];
}

export function binOf(latencyMs: number): number {
	for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) {
		const bound = LATENCY_BOUNDS_MS[i];
		if (bound !== undefined && latencyMs <= bound) return i;
	}
	return LATENCY_BOUNDS_MS.length;
}

export type Tally = { sends: number; successes: number; failures: number; latenciesMs: readonly number[] };

export function addTally(bucket: StatsBucket, tally: Tally): StatsBucket {
	const hist = [...bucket.hist];
	for (const latency of tally.latenciesMs) {
		if (!Number.isFinite(latency)) continue;
		const bin = binOf(Math.max(0, latency));
		hist[bin] = (hist[bin] ?? 0) + 1;
	}
	return {
		start: bucket.start,
		sends: bucket.sends + tally.sends,
		successes: bucket.successes + tally.successes,
		failures: bucket.failures + tally.failures,
		hist,
	};
}

/** The q-quantile (0..1) of a histogram, interpolated inside its bin; null when it is empty. */
export function quantile(hist: readonly number[], q: number): number | null {
	const total = hist.reduce((sum, n) => sum + n, 0);
	if (total === 0) return null;
	const rank = q * total;
	let below = 0;
	for (let i = 0; i < hist.length; i++) {
		const count = hist[i] ?? 0;
		if (count > 0 && below + count >= rank) {
			const low = i === 0 ? 0 : (LATENCY_BOUNDS_MS[i - 1] ?? 0);
			const high = LATENCY_BOUNDS_MS[i];
			// The overflow bin has no upper bound: its lower bound is the honest answer.
			if (high === undefined) return low;
			return Math.round(low + ((high - low) * Math.max(0, rank - below)) / count);
		}
		below += count;
	}
	return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1] ?? null;
}

export function summarize(buckets: readonly StatsBucket[]): WindowStats {
	const hist: number[] = new Array(LATENCY_BOUNDS_MS.length + 1).fill(0);
	let sends = 0;
	let successes = 0;
	let failures = 0;
	for (const bucket of buckets) {
		sends += bucket.sends;
		successes += bucket.successes;
		failures += bucket.failures;
		bucket.hist.forEach((n, i) => {
			hist[i] = (hist[i] ?? 0) + n;
		});
	}
	return { sends, successes, failures, p50Ms: quantile(hist, 0.5), p95Ms: quantile(hist, 0.95) };
}
