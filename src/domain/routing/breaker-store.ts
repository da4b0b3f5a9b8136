// The GatewayBreaker's engine: breaker.ts's pure state machine over the object's SQLite storage, with
// `now` passed in so tests drive time. Every method runs without an await, so the Durable Object's
// input gate makes each call atomic: concurrent `admit`s cannot grant the same room twice.
//
// Storage:
//   breaker  one row (id = 1): `data` the BreakerData JSON (state, epoch, failure count, in-flight and
//            probe slots, rate-window slots; bounded, see breaker-windows.ts), `config` the last
//            BreakerConfig seen (reset() has none of its own)
//   stats    per (kind, start): one minute bucket (60 kept) or hour bucket (24 kept) with sends,
//            successes, failures and the latency histogram `hist` (JSON array, breaker-stats.ts)

import { z } from "zod";
import { admit, advance, type BreakerData, halfOpenAt, inFlightOf, initialData, report, reset } from "./breaker";
import { breakerConfigSchema } from "./breaker-config";
import {
	addTally,
	type BucketKind,
	bucketStart,
	emptyBucket,
	oldestKept,
	type StatsBucket,
	summarize,
} from "./breaker-stats";
import type { Admission, BreakerConfig, BreakerSnapshot, OutcomeReport } from "./breaker-types";
import { DEFAULT_BREAKER } from "./breaker-types";
import { RATE_UNITS, usageOf } from "./breaker-windows";

const count = z.number().int().min(0).max(1_000_000);
const reportSchema = z.object({
	admitted: count,
	successes: count,
	failures: count,
	permanent: count.optional(),
	epoch: z.number().int().optional(),
	order: z
		.array(z.enum(["success", "failure", "permanent"]))
		.max(100_000)
		.optional(),
	latenciesMs: z.array(z.number()).max(100_000),
});

type StatsRow = { start: number; sends: number; successes: number; failures: number; hist: string };

export class BreakerEngine {
	private data: BreakerData;
	private saved: string;
	private lastConfig: BreakerConfig;

	constructor(private readonly sql: SqlStorage) {
		sql.exec(`CREATE TABLE IF NOT EXISTS breaker (
			id INTEGER PRIMARY KEY CHECK (id = 1),
			data TEXT NOT NULL,
			config TEXT
		)`);
		sql.exec(`CREATE TABLE IF NOT EXISTS stats (
			kind TEXT NOT NULL,
			start INTEGER NOT NULL,
			sends INTEGER NOT NULL,
			successes INTEGER NOT NULL,
			failures INTEGER NOT NULL,
			hist TEXT NOT NULL,
			PRIMARY KEY (kind, start)
		)`);
		const row = sql
			.exec<{ data: string; config: string | null }>("SELECT data, config FROM breaker WHERE id = 1")
			.toArray()[0];
		this.data = row ? (JSON.parse(row.data) as BreakerData) : initialData();
		this.saved = row?.data ?? "";
		const stored = row?.config ? breakerConfigSchema.safeParse(JSON.parse(row.config)) : null;
		this.lastConfig = stored?.success ? stored.data : DEFAULT_BREAKER;
	}

	admit(config: BreakerConfig, wanted: number, now: number): Admission {
		const valid = this.accept(config);
		const result = admit(this.data, valid, wanted, now);
		this.save(result.data);
		return result.admission;
	}

	report(config: BreakerConfig, outcome: OutcomeReport, now: number): BreakerSnapshot {
		const valid = this.accept(config);
		const parsed = reportSchema.parse(outcome);
		this.save(report(this.data, valid, parsed, now));
		const sends = parsed.successes + parsed.failures + (parsed.permanent ?? 0);
		if (sends > 0 || parsed.latenciesMs.length > 0) {
			const tally = { sends, successes: parsed.successes, failures: parsed.failures, latenciesMs: parsed.latenciesMs };
			this.addStats("minute", tally, now);
			this.addStats("hour", tally, now);
		}
		return this.snapshotOf(valid, now);
	}

	snapshot(config: BreakerConfig, now: number): BreakerSnapshot {
		const valid = this.accept(config);
		this.save(advance(this.data, valid, now));
		return this.snapshotOf(valid, now);
	}

	reset(now: number): BreakerSnapshot {
		this.save(reset(advance(this.data, this.lastConfig, now), now));
		return this.snapshotOf(this.lastConfig, now);
	}

	private accept(config: BreakerConfig): BreakerConfig {
		const valid = breakerConfigSchema.parse(config);
		if (JSON.stringify(valid) !== JSON.stringify(this.lastConfig)) {
			this.lastConfig = valid;
			this.sql.exec(
				"INSERT INTO breaker (id, data, config) VALUES (1, ?1, ?2) ON CONFLICT (id) DO UPDATE SET config = ?2",
				JSON.stringify(this.data),
				JSON.stringify(valid),
			);
		}
		return valid;
	}

	/** Writes the state only when it changed: a snapshot of an idle breaker costs no write. */
	private save(data: BreakerData): void {
		this.data = data;
		const json = JSON.stringify(data);
		if (json === this.saved) return;
		this.sql.exec(
			"INSERT INTO breaker (id, data, config) VALUES (1, ?1, ?2) ON CONFLICT (id) DO UPDATE SET data = ?1",
			json,
			JSON.stringify(this.lastConfig),
		);
		this.saved = json;
	}

	private addStats(kind: BucketKind, tally: Parameters<typeof addTally>[1], now: number): void {
		const start = bucketStart(kind, now);
		const row = this.sql
			.exec<StatsRow>(
				"SELECT start, sends, successes, failures, hist FROM stats WHERE kind = ? AND start = ?",
				kind,
				start,
			)
			.toArray()[0];
		// A new bucket is the moment to drop the ones that left the window (once per minute at most).
		if (!row) this.sql.exec("DELETE FROM stats WHERE kind = ? AND start < ?", kind, oldestKept(kind, now));
		const bucket = addTally(row ? toBucket(row) : emptyBucket(start), tally);
		this.sql.exec(
			`INSERT INTO stats (kind, start, sends, successes, failures, hist) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
			 ON CONFLICT (kind, start) DO UPDATE SET sends = ?3, successes = ?4, failures = ?5, hist = ?6`,
			kind,
			start,
			bucket.sends,
			bucket.successes,
			bucket.failures,
			JSON.stringify(bucket.hist),
		);
	}

	private buckets(kind: BucketKind, now: number): StatsBucket[] {
		return this.sql
			.exec<StatsRow>(
				"SELECT start, sends, successes, failures, hist FROM stats WHERE kind = ? AND start >= ?",
				kind,
				oldestKept(kind, now),
			)
			.toArray()
			.map(toBucket);
	}

	private snapshotOf(config: BreakerConfig, now: number): BreakerSnapshot {
		const data = this.data;
		const rateUsage: BreakerSnapshot["rateUsage"] = {};
		for (const unit of RATE_UNITS) {
			if (config.rateLimits[unit] !== undefined) rateUsage[unit] = usageOf(data.windows, unit, now);
		}
		return {
			state: data.state,
			consecutiveFailures: data.consecutiveFailures,
			openedAt: data.openedAt,
			inFlight: inFlightOf(data),
			rateUsage,
			stats: { lastHour: summarize(this.buckets("minute", now)), lastDay: summarize(this.buckets("hour", now)) },
			epoch: data.epoch,
			halfOpenAt: halfOpenAt(data, config),
		};
	}
}

function toBucket(row: StatsRow): StatsBucket {
	return {
		start: row.start,
		sends: row.sends,
		successes: row.successes,
		failures: row.failures,
		hist: JSON.parse(row.hist) as number[],
	};
}
