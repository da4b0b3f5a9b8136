// The contract between the Idempotency-Key logic (src/domain/idempotency.ts) and the IdempotencyStore
// Durable Object that keeps the entries (workers/durable-objects/idempotency-store.ts): its RPC results
// and timings. Kept here so the domain never imports from workers/.

/** Entries are kept this long after their last change (IETF draft: at least 24 h). */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;
/** An in-flight entry older than this belongs to a request that died; the key becomes usable again. */
export const IN_FLIGHT_LOCK_MS = 60_000;

export type BeginResult =
	| {
			kind: "proceed";
			/** Fencing token: complete/release act only with the token of the current holder. */
			token: number;
			/** When the store first saw the key; kept across releases and lock takeovers. */
			firstSeenAt: number;
			/** What an earlier attempt of a partly failed request left (JSON), or null. */
			partial: string | null;
	  }
	| { kind: "replay"; status: number; body: string }
	| { kind: "mismatch" }
	| { kind: "in_flight" };

/** The store's RPC surface, as the domain calls it. */
export interface IdempotencyStoreApi {
	begin(key: string, fingerprint: string): Promise<BeginResult>;
	/** Stores the final response; false when `token` no longer holds the key. */
	complete(key: string, token: number, status: number, body: string): Promise<boolean>;
	/** Frees the key for a retry, keeping its fingerprint, first-seen time and `partial`; false when fenced out. */
	release(key: string, token: number, partial: string | null): Promise<boolean>;
}
