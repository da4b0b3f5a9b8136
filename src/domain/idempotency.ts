// Idempotency-Key handling around a write (DESIGN.md "Write path"): same key and same request replay
// the stored response; a different request under the key is refused (422); a key whose first request
// is still running is refused (409). A request that failed (5xx) or was only partly accepted frees
// its key but keeps what the retry needs: the fingerprint, the first-seen time the message ids derive
// from, and which items were already accepted. Only requests that carry a key pay the DO hop.
// Failure mode: if the IdempotencyStore cannot be reached the request fails closed with 503, because
// proceeding could send a message twice.
import type { Env } from "../env";
import { ApiError, err, ok, type Result } from "../errors";
import { sha256Hex } from "../lib/crypto";
import { fnv1a, getStub } from "../lib/durable-objects";
import { errorSummary } from "../lib/log";
import { count } from "../lib/metrics";
import type { BeginResult, IdempotencyStoreApi } from "./idempotency-types";

export const IDEMPOTENCY_SHARDS = 8;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

export type StoredResponse = { status: number; body: unknown };
export type IdempotentOutcome = StoredResponse & { replayed: boolean };

/** A write's request as the store fingerprints it. */
export type IdempotencyRequest = {
	store: Env["IDEMPOTENCY"];
	workspaceId: string;
	key: string;
	method: string;
	path: string;
	body: string;
};

/** Accepted items of earlier attempts: item index → message id. */
export type AcceptedItems = Record<string, string>;

/** What the handler learns about earlier attempts under the key (null when there is no key). */
export type Attempt = { key: string; firstSeenAt: number; accepted: AcceptedItems };

/**
 * The handler's answer. With `partial`, some items still need a retry: the response goes to the
 * client but is not stored for replay; `partial` (every item accepted so far) is kept for the retry.
 */
export type AttemptResult = StoredResponse & { partial?: AcceptedItems };

export function validateIdempotencyKey(key: string): ApiError | null {
	if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key)) {
		return new ApiError(
			"invalid_idempotency_key",
			`Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters.`,
		);
	}
	return null;
}

export function idempotencyStore(
	namespace: Env["IDEMPOTENCY"],
	workspaceId: string,
	key: string,
): DurableObjectStub<IdempotencyStoreApi & Rpc.DurableObjectBranded> {
	return getStub(namespace, `idem:${workspaceId}:${fnv1a(key) % IDEMPOTENCY_SHARDS}`);
}

function parsePartial(partial: string | null): AcceptedItems {
	if (partial === null) return {};
	try {
		const value = JSON.parse(partial) as unknown;
		return value && typeof value === "object" ? (value as AcceptedItems) : {};
	} catch {
		return {};
	}
}

/**
 * Runs `handler` once per (workspace, key) and request fingerprint, or directly when there is no key.
 * A handler error frees the key (keeping earlier partial progress) and is returned as is.
 */
export async function withIdempotency(
	request: IdempotencyRequest | null,
	handler: (attempt: Attempt | null) => Promise<Result<AttemptResult, ApiError>>,
): Promise<Result<IdempotentOutcome, ApiError>> {
	if (request === null) {
		const result = await handler(null);
		return result.ok ? ok({ status: result.value.status, body: result.value.body, replayed: false }) : result;
	}
	const invalid = validateIdempotencyKey(request.key);
	if (invalid) return err(invalid);
	count("idempotency_checks_total");
	const fingerprint = await sha256Hex(`${request.method} ${request.path}\n${request.body}`);
	const store = idempotencyStore(request.store, request.workspaceId, request.key);
	let begun: BeginResult;
	try {
		begun = await store.begin(request.key, fingerprint);
	} catch (error) {
		console.error("idempotency store unreachable", { workspaceId: request.workspaceId, error: errorSummary(error) });
		return err(new ApiError("service_unavailable", "Idempotency keys cannot be checked right now; retry shortly."));
	}
	switch (begun.kind) {
		case "replay":
			return ok({ status: begun.status, body: JSON.parse(begun.body) as unknown, replayed: true });
		case "mismatch":
			return err(
				new ApiError(
					"idempotency_key_reused",
					"This Idempotency-Key was already used with a different request. Use a new key for a new request.",
				),
			);
		case "in_flight":
			return err(
				new ApiError(
					"idempotency_key_in_use",
					"A request with this Idempotency-Key is still being processed. Retry after it completes.",
				),
			);
	}
	const { token } = begun;
	const release = (partial: string | null) =>
		store.release(request.key, token, partial).catch((error: unknown) => {
			console.error("idempotency store: release failed", {
				workspaceId: request.workspaceId,
				error: errorSummary(error),
			});
			return false;
		});
	let result: Result<AttemptResult, ApiError>;
	try {
		result = await handler({ key: request.key, firstSeenAt: begun.firstSeenAt, accepted: parsePartial(begun.partial) });
	} catch (error) {
		await release(begun.partial);
		throw error;
	}
	if (!result.ok || result.value.status >= 500) {
		await release(begun.partial);
		return result.ok ? ok({ ...result.value, replayed: false }) : result;
	}
	const { partial, ...response } = result.value;
	if (partial) {
		await release(JSON.stringify(partial));
		return ok({ ...response, replayed: false });
	}
	// The work is done and durable; failing to store the replay copy must not turn it into an error.
	const stored = await store
		.complete(request.key, token, response.status, JSON.stringify(response.body))
		.catch((error: unknown) => {
			console.error("idempotency store: complete failed", {
				workspaceId: request.workspaceId,
				error: errorSummary(error),
			});
			return null;
		});
	if (stored === false) {
		// A later request took the key over after this one outlived its lock; it answers for the key.
		console.warn("idempotency store: fenced out", { workspaceId: request.workspaceId });
	}
	return ok({ ...response, replayed: false });
}
