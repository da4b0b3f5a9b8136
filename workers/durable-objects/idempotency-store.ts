// IdempotencyStore: one SQLite-backed object per `idem:<workspaceId>:<shard>` holding Idempotency-Key
// records (IETF httpapi idempotency-key draft). Each RPC runs its read and write without an await in
// between, so two requests racing on one key cannot both proceed. Entries are removed by alarm once
// IDEMPOTENCY_RETENTION_MS has passed since the response was stored.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../src/env";

export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;
/** An in-flight entry older than this belongs to a request that died; the key becomes usable again. */
export const IN_FLIGHT_LOCK_MS = 60_000;

export type BeginResult =
	| { kind: "proceed" }
	| { kind: "replay"; status: number; body: string }
	| { kind: "mismatch" }
	| { kind: "in_flight" };

type Entry = {
	key: string;
	fingerprint: string;
	state: "in_flight" | "done";
	status: number | null;
	body: string | null;
	locked_until: number;
	expires_at: number;
};

export class IdempotencyStore extends DurableObject<Env> {
	private readonly sql: SqlStorage;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.sql = ctx.storage.sql;
		this.sql.exec(`CREATE TABLE IF NOT EXISTS entries (
			key TEXT PRIMARY KEY,
			fingerprint TEXT NOT NULL,
			state TEXT NOT NULL,
			status INTEGER,
			body TEXT,
			locked_until INTEGER NOT NULL,
			expires_at INTEGER NOT NULL
		)`);
	}

	private entry(key: string): Entry | undefined {
		return this.sql.exec<Entry>("SELECT * FROM entries WHERE key = ?", key).toArray()[0];
	}

	async begin(key: string, fingerprint: string): Promise<BeginResult> {
		const now = Date.now();
		const row = this.entry(key);
		const stale = !row || row.expires_at <= now || (row.state === "in_flight" && row.locked_until <= now);
		if (stale) {
			this.sql.exec(
				`INSERT INTO entries (key, fingerprint, state, status, body, locked_until, expires_at)
				 VALUES (?1, ?2, 'in_flight', NULL, NULL, ?3, ?4)
				 ON CONFLICT(key) DO UPDATE SET fingerprint = ?2, state = 'in_flight', status = NULL, body = NULL,
				   locked_until = ?3, expires_at = ?4`,
				key,
				fingerprint,
				now + IN_FLIGHT_LOCK_MS,
				now + IDEMPOTENCY_RETENTION_MS,
			);
			await this.ensureAlarm(now + IDEMPOTENCY_RETENTION_MS);
			return { kind: "proceed" };
		}
		if (row.fingerprint !== fingerprint) return { kind: "mismatch" };
		if (row.state === "in_flight" || row.status === null || row.body === null) return { kind: "in_flight" };
		return { kind: "replay", status: row.status, body: row.body };
	}

	async complete(key: string, fingerprint: string, status: number, body: string): Promise<void> {
		const expiresAt = Date.now() + IDEMPOTENCY_RETENTION_MS;
		this.sql.exec(
			`UPDATE entries SET state = 'done', status = ?3, body = ?4, expires_at = ?5
			 WHERE key = ?1 AND fingerprint = ?2`,
			key,
			fingerprint,
			status,
			body,
			expiresAt,
		);
		await this.ensureAlarm(expiresAt);
	}

	/** Frees a key whose request failed without a response worth keeping (5xx), so it can be retried. */
	async release(key: string, fingerprint: string): Promise<void> {
		this.sql.exec("DELETE FROM entries WHERE key = ? AND fingerprint = ? AND state = 'in_flight'", key, fingerprint);
	}

	override async alarm(): Promise<void> {
		const now = Date.now();
		this.sql.exec("DELETE FROM entries WHERE expires_at <= ?", now);
		const next = this.sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM entries").one().at;
		if (next !== null) await this.ctx.storage.setAlarm(next);
	}

	private async ensureAlarm(at: number): Promise<void> {
		const current = await this.ctx.storage.getAlarm();
		if (current === null || current > at) await this.ctx.storage.setAlarm(at);
	}
}
