// The wait list of a soft limit (docs/rate-limits.md "Priority under contention"): a message the
// limiter defers keeps its place, by priority and then by the time it first waited, until it is
// granted or its place expires. A message is granted a unit only when the units counted plus the
// places ahead of it leave room, so a higher-priority message that waits is served before a
// lower-priority one, whichever batch reaches the limiter first. Part of the WorkspaceLimiter's
// storage; every method is synchronous, so the engine's call stays atomic.
//
//   waiters(key, id, priority, seq, expires_at)  PRIMARY KEY (key, id)

/** A place is kept this long past the time its message was told to come back (recovery re-drives within ~3 min). */
export const WAITER_GRACE_MS = 10 * 60_000;

type Waiter = { id: string; priority: number; seq: number; expiresAt: number };

export class WaitList {
	private lists = new Map<string, Waiter[]>();
	/** The places this call took or moved, to write back. */
	private dirty: { key: string; w: Waiter }[] = [];
	private seq = 0;

	constructor(private readonly sql: SqlStorage) {
		sql.exec(`CREATE TABLE IF NOT EXISTS waiters (
			key TEXT NOT NULL, id TEXT NOT NULL, priority INTEGER NOT NULL, seq INTEGER NOT NULL, expires_at INTEGER NOT NULL,
			PRIMARY KEY (key, id))`);
		sql.exec("CREATE INDEX IF NOT EXISTS waiters_expiry ON waiters (expires_at)");
	}

	begin(now: number): void {
		this.lists = new Map();
		this.dirty = [];
		// Places taken in this call follow every earlier one: seq grows with time, and within the call.
		this.seq = now * 1000;
	}

	/** How many places on `key` come before message `id` of `priority` (its own excluded). */
	ahead(key: string, id: string, priority: number, now: number): number {
		const list = this.list(key, now);
		const mine = list.find((w) => w.id === id);
		let n = 0;
		for (const w of list) {
			if (w.id === id || w.expiresAt <= now) continue;
			if (w.priority > priority || (w.priority === priority && (mine === undefined || w.seq < mine.seq))) n++;
		}
		return n;
	}

	/** Keeps (or takes) message `id`'s place on `key` until `until` plus the grace. */
	wait(key: string, id: string, priority: number, until: number, now: number): void {
		const list = this.list(key, now);
		const expiresAt = until + WAITER_GRACE_MS;
		const mine = list.find((w) => w.id === id);
		const w = mine ?? { id, priority, seq: this.seq++, expiresAt };
		w.expiresAt = expiresAt;
		w.priority = priority;
		if (!mine) list.push(w);
		this.dirty.push({ key, w });
	}

	/** Message `id` was granted or refused: it gives up its places on these keys. */
	leave(keys: readonly string[], id: string, now: number): void {
		for (const key of keys) {
			const list = this.list(key, now);
			const at = list.findIndex((w) => w.id === id);
			if (at < 0) continue;
			list.splice(at, 1);
			this.sql.exec("DELETE FROM waiters WHERE key = ?1 AND id = ?2", key, id);
		}
	}

	flush(now: number): void {
		for (const { key, w } of this.dirty) {
			this.sql.exec(
				`INSERT INTO waiters (key, id, priority, seq, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
				 ON CONFLICT(key, id) DO UPDATE SET priority = ?3, expires_at = ?5`,
				key,
				w.id,
				w.priority,
				w.seq,
				w.expiresAt,
			);
		}
		this.dirty = [];
		this.sql.exec("DELETE FROM waiters WHERE expires_at <= ?", now);
	}

	private list(key: string, now: number): Waiter[] {
		let list = this.lists.get(key);
		if (!list) {
			list = this.sql
				.exec<{ id: string; priority: number; seq: number; expires_at: number }>(
					"SELECT id, priority, seq, expires_at FROM waiters WHERE key = ?1 AND expires_at > ?2",
					key,
					now,
				)
				.toArray()
				.map((r) => ({ id: r.id, priority: r.priority, seq: r.seq, expiresAt: r.expires_at }));
			this.lists.set(key, list);
		}
		return list;
	}
}
