// Idempotency-Key handling around a write (DESIGN.md "Write path"): same key and same request replay
// the stored response; a different request under the key is refused (422); a key whose first request
// is still running is refused (409). Only requests that carry a key pay the Durable Object hop.
// Failure mode: if the IdempotencyStore cannot be reached the request fails closed with 503, because
// proceeding could send a message twice.
import type { BeginResult, IdempotencyStore } from "../../workers/durable-objects/idempotency-store";
import { ApiError } from "../errors";
import { sha256Hex } from "../lib/crypto";
import { fnv1a, getStub } from "../lib/durable-objects";
import { count } from "../lib/metrics";

export const IDEMPOTENCY_SHARDS = 8;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

export type StoredResponse = { status: number; body: unknown };
export type IdempotentOutcome = StoredResponse & { replayed: boolean };

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
	namespace: DurableObjectNamespace<IdempotencyStore>,
	workspaceId: string,
	key: string,
): DurableObjectStub<IdempotencyStore> {
	return getStub(namespace, `idem:${workspaceId}:${fnv1a(key) % IDEMPOTENCY_SHARDS}`);
}

/** Runs `handler` at most once per (workspace, key) and request fingerprint. */
export async function withIdempotency(
	namespace: DurableObjectNamespace<IdempotencyStore>,
	workspaceId: string,
	key: string,
	request: { method: string; path: string; body: string },
	handler: () => Promise<StoredResponse>,
): Promise<IdempotentOutcome> {
	const invalid = validateIdempotencyKey(key);
	if (invalid) throw invalid;
	count("idempotency_checks_total");
	const fingerprint = await sha256Hex(`${request.method} ${request.path}\n${request.body}`);
	const store = idempotencyStore(namespace, workspaceId, key);
	let begun: BeginResult;
	try {
		begun = await store.begin(key, fingerprint);
	} catch (error) {
		console.error("idempotency store unreachable", { error: String(error) });
		throw new ApiError("service_unavailable", "Idempotency keys cannot be checked right now; retry shortly.");
	}
	switch (begun.kind) {
		case "replay":
			return { status: begun.status, body: JSON.parse(begun.body) as unknown, replayed: true };
		case "mismatch":
			throw new ApiError(
				"idempotency_key_reused",
				"This Idempotency-Key was already used with a different request. Use a new key for a new request.",
			);
		case "in_flight":
			throw new ApiError(
				"idempotency_key_in_use",
				"A request with this Idempotency-Key is still being processed. Retry after it completes.",
			);
	}
	let response: StoredResponse;
	try {
		response = await handler();
	} catch (error) {
		await store.release(key, fingerprint).catch(() => undefined);
		throw error;
	}
	if (response.status >= 500) await store.release(key, fingerprint).catch(() => undefined);
	else {
		// The work is done and durable; failing to store the replay copy must not turn it into an error.
		await store
			.complete(key, fingerprint, response.status, JSON.stringify(response.body))
			.catch((error: unknown) => console.error("idempotency store: complete failed", { error: String(error) }));
	}
	return { ...response, replayed: false };
}
