// IdempotencyStore: one SQLite-backed object per `idem:<workspaceId>:<shard>` holding Idempotency-Key
// entries (IETF httpapi idempotency-key draft). Each RPC runs its read and write without an await in
// between, so two requests racing on one key cannot both proceed. An entry is removed by alarm once
// IDEMPOTENCY_RETENTION_MS has passed since its last change.
//
// Storage (table `entries`, one row per key):
//   fingerprint    SHA-256 of method, path and body; fixed for the entry's life (a new body is a 422)
//   state          in_flight (a request holds it) | open (released after a 5xx or a partial batch) | done
//   status, body   done: the response to replay; open/in_flight: the partial result of earlier attempts
//   first_seen_at  when the key was first seen; message ids derive their time from it
//   token          fencing token, incremented by every begin that hands the key to a request
//   locked_until   in_flight: when the holder is presumed dead and the key may be taken over
//   expires_at     when the alarm deletes the entry
import { DurableObject } from "cloudflare:workers";
import {
	type BeginResult,
	IDEMPOTENCY_RETENTION_MS,
	type IdempotencyStoreApi,
	IN_FLIGHT_LOCK_MS,
} from "../../src/domain/idempotency-types";
import type { Env } from "../../src/env";

export { IDEMPOTENCY_RETENTION_MS, IN_FLIGHT_LOCK_MS };

type Entry = {
	key: string;
	fingerprint: string;
	state: "in_flight" | "open" | "done";
	status: number | null;
	body: string | null;
	locked_until: number;
	expires_at: number;
	first_seen_at: number;
	token: number;
};

export class IdempotencyStore extends DurableObject<Env> implements IdempotencyStoreApi {
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
		// Objects created before fencing and stable ids lack these columns.
		const columns = new Set(
			this.sql
				.exec<{ name: string }>("SELECT name FROM pragma_table_info('entries')")
				.toArray()
				.map((c) => c.name),
		);
		if (!columns.has("first_seen_at")) {
			this.sql.exec("ALTER TABLE entries ADD COLUMN first_seen_at INTEGER NOT NULL DEFAULT 0");
		}
		if (!columns.has("token")) this.sql.exec("ALTER TABLE entries ADD COLUMN token INTEGER NOT NULL DEFAULT 0");
	}

	private entry(key: string): Entry | undefined {
		return this.sql.exec<Entry>("SELECT * FROM entries WHERE key = ?", key).toArray()[0];
	}

	async begin(key: string, fingerprint: string): Promise<BeginResult> {
		const now = Date.now();
		const expiresAt = now + IDEMPOTENCY_RETENTION_MS;
		const row = this.entry(key);
		if (!row || row.expires_at <= now) {
			this.sql.exec(
				`INSERT INTO entries (key, fingerprint, state, status, body, locked_until, expires_at, first_seen_at, token)
				 VALUES (?1, ?2, 'in_flight', NULL, NULL, ?3, ?4, ?5, 1)
				 ON CONFLICT(key) DO UPDATE SET fingerprint = ?2, state = 'in_flight', status = NULL, body = NULL,
				   locked_until = ?3, expires_at = ?4, first_seen_at = ?5, token = token + 1`,
				key,
				fingerprint,
				now + IN_FLIGHT_LOCK_MS,
				expiresAt,
				now,
			);
			await this.ensureAlarm(expiresAt);
			const created = this.entry(key);
			return { kind: "proceed", token: created?.token ?? 1, firstSeenAt: now, partial: null };
		}
		// The fingerprint outlives releases and takeovers: ids derive from the key, so a different
		// body under it would reuse ids that may already name accepted messages.
		if (row.fingerprint !== fingerprint) return { kind: "mismatch" };
		if (row.state === "done" && row.status !== null && row.body !== null) {
			return { kind: "replay", status: row.status, body: row.body };
		}
		if (row.state === "in_flight" && row.locked_until > now) return { kind: "in_flight" };
		// Open (released, or partly done) or a dead holder's lock: hand the key to this request.
		const token = row.token + 1;
		this.sql.exec(
			"UPDATE entries SET state = 'in_flight', token = ?2, locked_until = ?3, expires_at = ?4 WHERE key = ?1",
			key,
			token,
			now + IN_FLIGHT_LOCK_MS,
			expiresAt,
		);
		await this.ensureAlarm(expiresAt);
		const firstSeenAt = row.first_seen_at > 0 ? row.first_seen_at : now;
		if (row.first_seen_at === 0) this.sql.exec("UPDATE entries SET first_seen_at = ?2 WHERE key = ?1", key, now);
		return { kind: "proceed", token, firstSeenAt, partial: row.body };
	}

	async complete(key: string, token: number, status: number, body: string): Promise<boolean> {
		const expiresAt = Date.now() + IDEMPOTENCY_RETENTION_MS;
		const updated = this.sql.exec(
			`UPDATE entries SET state = 'done', status = ?3, body = ?4, expires_at = ?5, locked_until = 0
			 WHERE key = ?1 AND token = ?2 AND state = 'in_flight'`,
			key,
			token,
			status,
			body,
			expiresAt,
		).rowsWritten;
		if (updated > 0) await this.ensureAlarm(expiresAt);
		return updated > 0;
	}

	async release(key: string, token: number, partial: string | null): Promise<boolean> {
		const expiresAt = Date.now() + IDEMPOTENCY_RETENTION_MS;
		const updated = this.sql.exec(
			`UPDATE entries SET state = 'open', status = NULL, body = ?3, expires_at = ?4, locked_until = 0
			 WHERE key = ?1 AND token = ?2 AND state = 'in_flight'`,
			key,
			token,
			partial,
			expiresAt,
		).rowsWritten;
		if (updated > 0) await this.ensureAlarm(expiresAt);
		return updated > 0;
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
