// The WorkspaceLimiter's logic over its SQLite storage, so the Durable Object class stays thin and
// tests can drive it with their own clock. Every method runs without an await between its reads and
// writes: the object's input gate makes each call atomic, so parallel batches never both take the
// last unit of a limit.
//
// Storage:
//   counters(key, slice, window, n, expires_at)  units taken per counter key and time slice
//   config(id = 1, json, loaded_at)             the workspace's limits and queues (LimiterConfig)
// Counter keys: `w:<window>` workspace, `g:<window>` global (only in the global instance), `s:<window>:<sender>` sender, `k:<window>:<keyId>` API key,
// `q:<queueId>` queue per minute.
import {
	type AdmitRequest,
	type AdmitResult,
	type Decision,
	describeLimit,
	type LimitDef,
	type LimiterConfig,
	type LimitUsage,
	type RateState,
	type Release,
	type ReserveItem,
	type ReserveOptions,
	type ReserveResult,
	type Window,
} from "./model";
import { WaitList } from "./waiters";
import { fitsAt, nextExpiry, oldestCounted, type Slices, sliceExpiry, sliceOf, used } from "./windows";

/** A limit that applies to one message or request, with the counter it is counted in. */
type Applied = { key: string; def: LimitDef; name: string };

const DEFAULT_PRIORITY = 5;

export class LimiterEngine {
	/** Slices read during one call, and what it adds to the current slice of each key. */
	private loaded = new Map<string, { window: Window; slices: Slices }>();
	private added = new Map<string, number>();
	private readonly waiters: WaitList;

	constructor(private readonly sql: SqlStorage) {
		this.waiters = new WaitList(sql);
		sql.exec(`CREATE TABLE IF NOT EXISTS counters (
			key TEXT NOT NULL, slice INTEGER NOT NULL, window TEXT NOT NULL, n INTEGER NOT NULL, expires_at INTEGER NOT NULL,
			PRIMARY KEY (key, slice))`);
		sql.exec("CREATE INDEX IF NOT EXISTS counters_expiry ON counters (expires_at)");
		sql.exec(
			"CREATE TABLE IF NOT EXISTS config (id INTEGER PRIMARY KEY, json TEXT NOT NULL, loaded_at INTEGER NOT NULL)",
		);
	}

	config(): { config: LimiterConfig; loadedAt: number } | null {
		const row = this.sql
			.exec<{ json: string; loaded_at: number }>("SELECT json, loaded_at FROM config WHERE id = 1")
			.toArray()[0];
		return row ? { config: JSON.parse(row.json) as LimiterConfig, loadedAt: row.loaded_at } : null;
	}

	setConfig(config: LimiterConfig, now: number): void {
		this.sql.exec(
			"INSERT INTO config (id, json, loaded_at) VALUES (1, ?1, ?2) ON CONFLICT(id) DO UPDATE SET json = ?1, loaded_at = ?2",
			JSON.stringify(config),
			now,
		);
	}

	reserve(
		config: LimiterConfig,
		items: readonly ReserveItem[],
		now: number,
		options: ReserveOptions = {},
	): ReserveResult {
		this.begin();
		const priority = new Map(config.queues.map((q) => [q.id, q.priority]));
		const prio = (i: ReserveItem) =>
			i.priority ?? (i.queueId === null ? DEFAULT_PRIORITY : (priority.get(i.queueId) ?? DEFAULT_PRIORITY));
		// Higher priority first; the batch's own order among equals (Array.prototype.sort is stable).
		const ordered = [...items].sort((a, b) => prio(b) - prio(a));
		const decisions: Record<string, Decision> = {};
		const taken: Record<string, string[]> = {};
		this.waiters.begin(now);
		for (const item of ordered) {
			const p = prio(item);
			const applied = [...sendLimits(config, item.sender, item.queueId), ...throttleLimit(options)];
			const keys = applied.map((a) => a.key);
			const hard = applied.find((a) => a.def.kind === "hard" && this.usedNow(a, now) + 1 > a.def.limit);
			if (hard) {
				decisions[item.id] = { kind: "reject", reason: `rate limit reached: ${hard.name}` };
				this.waiters.leave(keys, item.id, now);
				continue;
			}
			// A soft limit has room for this message when the units counted and the places of messages
			// waiting ahead of it (higher priority, or equal and waiting longer) leave one (waiters.ts).
			const over: { a: Applied; ahead: number }[] = [];
			for (const a of applied) {
				const ahead = this.waiters.ahead(a.key, item.id, p, now);
				if (this.usedNow(a, now) + ahead + 1 > a.def.limit) over.push({ a, ahead });
			}
			if (over.length === 0) {
				for (const a of applied) this.add(a.key, a.def.window, now, 1);
				decisions[item.id] = { kind: "go" };
				taken[item.id] = keys;
				this.waiters.leave(keys, item.id, now);
				continue;
			}
			// Due when the units for every place ahead of it and its own have come free, so deferred
			// messages come back one after another in priority order, not all at the same instant.
			let until = now;
			for (const { a, ahead } of over) {
				const at = fitsAt(this.slices(a.key, a.def.window, now), a.def.window, now, ahead + 1, a.def.limit);
				until = Math.max(until, at ?? now + windowMs(a.def.window));
			}
			for (const { a } of over) this.waiters.wait(a.key, item.id, p, until, now);
			const first = over[0];
			decisions[item.id] = { kind: "defer", until, reason: `rate limit reached: ${first ? first.a.name : "limit"}` };
		}
		this.waiters.flush(now);
		this.flush(now);
		return { at: now, decisions, taken };
	}

	release(release: Release): void {
		for (const [key, n] of Object.entries(release.keys)) {
			const window = windowOfKey(key);
			if (!window || n <= 0) continue;
			this.sql.exec(
				"UPDATE counters SET n = MAX(0, n - ?3) WHERE key = ?1 AND slice = ?2",
				key,
				sliceOf(window, release.at),
				n,
			);
		}
	}

	admit(config: LimiterConfig, request: AdmitRequest, now: number): AdmitResult {
		this.begin();
		const states: RateState[] = [];
		let refused: AdmitResult["refused"] = null;
		if (request.request) {
			const applied = keyLimits(config, request.keyId);
			const over = applied.filter((a) => this.usedNow(a, now) + 1 > a.def.limit);
			if (over.length > 0) refused = this.refusal(over, now, 1);
			else for (const a of applied) this.add(a.key, a.def.window, now, 1);
			for (const a of applied) states.push(this.state(a, now));
		}
		// Hard send limits are only checked here: the consumer counts what it sends, so a message is
		// never counted twice. Entries are checked in order, each as if the ones before it were sent.
		const virtual = new Map<string, number>();
		const sends = request.sends.map((entry) => {
			if (refused) return refused;
			const applied = sendLimits(config, entry.sender, null).filter((a) => a.def.kind === "hard");
			const over = applied.filter((a) => this.usedNow(a, now) + (virtual.get(a.key) ?? 0) + entry.n > a.def.limit);
			if (over.length > 0) return this.refusal(over, now, entry.n);
			for (const a of applied) virtual.set(a.key, (virtual.get(a.key) ?? 0) + entry.n);
			return null;
		});
		if (!request.request) {
			const hard = new Map<string, Applied>();
			for (const e of request.sends)
				for (const a of sendLimits(config, e.sender, null)) if (a.def.kind === "hard") hard.set(a.key, a);
			for (const a of hard.values()) {
				const s = this.state(a, now);
				states.push({ ...s, remaining: Math.max(0, s.remaining - (virtual.get(a.key) ?? 0)) });
			}
		}
		this.flush(now);
		const state = states.reduce<RateState | null>(
			(min, s) => (min === null || s.remaining < min.remaining ? s : min),
			null,
		);
		return { refused, sends, state: state && refused ? { ...state, remaining: 0 } : state };
	}

	usage(config: LimiterConfig, now: number): LimitUsage[] {
		this.begin();
		return config.limits.map((def) => {
			// A default limit's usage is summed over the senders or keys it covers; an override's is its own.
			const prefix = counterPrefix(def);
			const rows = this.sql
				.exec<{ key: string; slice: number; n: number }>(
					"SELECT key, slice, n FROM counters WHERE key >= ?1 AND key < ?2 AND slice >= ?3",
					prefix.from,
					prefix.to,
					oldestCounted(def.window, now),
				)
				.toArray()
				.filter(
					(r) =>
						def.key !== null || def.scope === "workspace" || def.scope === "global" || !hasOverride(config, def, r.key),
				);
			const slices: Slices = new Map();
			for (const r of rows) slices.set(r.slice, (slices.get(r.slice) ?? 0) + r.n);
			const u = used(slices, def.window, now);
			return { ...def, used: u, remaining: Math.max(0, def.limit - u), resetAt: nextExpiry(slices, def.window, now) };
		});
	}

	private refusal(over: Applied[], now: number, need: number): { reason: string; retryAt: number } {
		let retryAt = now;
		for (const a of over) {
			const at = fitsAt(this.slices(a.key, a.def.window, now), a.def.window, now, need, a.def.limit);
			retryAt = Math.max(retryAt, at ?? now + windowMs(a.def.window));
		}
		const first = over[0];
		return { reason: `rate limit reached: ${first ? first.name : "limit"}`, retryAt };
	}

	private state(a: Applied, now: number): RateState {
		const slices = this.slices(a.key, a.def.window, now);
		const u = used(slices, a.def.window, now);
		return {
			limit: a.def.limit,
			remaining: Math.max(0, a.def.limit - u),
			resetAt: nextExpiry(slices, a.def.window, now),
		};
	}

	private begin(): void {
		this.loaded = new Map();
		this.added = new Map();
	}

	private slices(key: string, window: Window, now: number): Slices {
		let entry = this.loaded.get(key);
		if (!entry) {
			const slices: Slices = new Map();
			const rows = this.sql.exec<{ slice: number; n: number }>(
				"SELECT slice, n FROM counters WHERE key = ?1 AND slice >= ?2",
				key,
				oldestCounted(window, now),
			);
			for (const r of rows) slices.set(r.slice, r.n);
			entry = { window, slices };
			this.loaded.set(key, entry);
		}
		return entry.slices;
	}

	private usedNow(a: Applied, now: number): number {
		return used(this.slices(a.key, a.def.window, now), a.def.window, now);
	}

	private add(key: string, window: Window, now: number, n: number): void {
		const slices = this.slices(key, window, now);
		const slice = sliceOf(window, now);
		slices.set(slice, (slices.get(slice) ?? 0) + n);
		this.added.set(key, (this.added.get(key) ?? 0) + n);
	}

	private flush(now: number): void {
		for (const [key, n] of this.added) {
			const window = this.loaded.get(key)?.window;
			if (!window) continue;
			const slice = sliceOf(window, now);
			this.sql.exec(
				`INSERT INTO counters (key, slice, window, n, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
				 ON CONFLICT(key, slice) DO UPDATE SET n = n + ?4`,
				key,
				slice,
				window,
				n,
				sliceExpiry(window, slice),
			);
		}
		this.added = new Map();
		this.sql.exec("DELETE FROM counters WHERE expires_at <= ?", now);
	}
}

function windowMs(window: Window): number {
	return { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 }[window];
}

function windowOfKey(key: string): Window | null {
	if (key.startsWith("q:")) return "minute";
	const w = key.split(":")[1];
	return w === "second" || w === "minute" || w === "hour" || w === "day" ? w : null;
}

/** The limits one message is counted against: workspace, sender (an override beats the default), queue. */
export function sendLimits(config: LimiterConfig, sender: string, queueId: string | null): Applied[] {
	const who = sender.toLowerCase();
	const applied: Applied[] = [];
	for (const def of config.limits) {
		if (def.scope === "workspace") applied.push({ key: `w:${def.window}`, def, name: describeLimit(def) });
		if (def.scope === "global") applied.push({ key: `g:${def.window}`, def, name: describeLimit(def) });
	}
	applied.push(...overridable(config, "sender", who, "s"));
	const queue = queueId === null ? undefined : config.queues.find((q) => q.id === queueId);
	if (queue && queue.ratePerMinute !== null) {
		const def: LimitDef = { scope: "workspace", key: null, window: "minute", limit: queue.ratePerMinute, kind: "soft" };
		applied.push({ key: `q:${queue.id}`, def, name: `queue ${queue.id} minute soft limit ${queue.ratePerMinute}` });
	}
	return applied;
}

/** Issue 11: a throttled workspace's reputation throttle, counted in `t:minute` (docs/reputation.md). */
function throttleLimit(options: ReserveOptions): Applied[] {
	const limit = options.throttlePerMinute;
	if (limit === null || limit === undefined) return [];
	const def: LimitDef = { scope: "workspace", key: null, window: "minute", limit, kind: "soft" };
	return [{ key: "t:minute", def, name: `reputation throttle ${limit} per minute` }];
}

function keyLimits(config: LimiterConfig, keyId: string): Applied[] {
	return overridable(config, "api_key", keyId, "k");
}

function overridable(config: LimiterConfig, scope: "sender" | "api_key", who: string, tag: string): Applied[] {
	const byWindow = new Map<Window, LimitDef>();
	for (const def of config.limits) {
		if (def.scope !== scope) continue;
		if (def.key === who) byWindow.set(def.window, def);
		else if (def.key === null && !byWindow.has(def.window)) byWindow.set(def.window, def);
	}
	return [...byWindow.values()].map((def) => ({ key: `${tag}:${def.window}:${who}`, def, name: describeLimit(def) }));
}

function counterPrefix(def: LimitDef): { from: string; to: string } {
	if (def.scope === "workspace") return { from: `w:${def.window}`, to: `w:${def.window}\u0001` };
	if (def.scope === "global") return { from: `g:${def.window}`, to: `g:${def.window}\u0001` };
	const tag = def.scope === "sender" ? "s" : "k";
	const base = `${tag}:${def.window}:${def.key ?? ""}`;
	return def.key === null ? { from: base, to: `${tag}:${def.window};` } : { from: base, to: `${base}\u0001` };
}

/** True when the counter `key` belongs to a sender or key with its own override for this window. */
function hasOverride(config: LimiterConfig, def: LimitDef, key: string): boolean {
	const who = key.split(":").slice(2).join(":");
	return config.limits.some((l) => l.scope === def.scope && l.window === def.window && l.key === who);
}
