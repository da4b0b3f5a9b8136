// Who is calling: resolves a bearer key to its principal and checks expiry, revocation, workspace
// state, IP allowlist and scope. Principals are cached in the isolate for PRINCIPAL_CACHE_MS, so a
// revoked key, a changed scope or a newly verified domain takes effect within that time everywhere
// (at once in the isolate that made the change).

import { findPrincipalByHash, type PrincipalRow } from "../../db/repositories/api-keys";
import type { ApiKeyScope } from "../../db/schema";
import { ApiError, err, ok, type Result } from "../../errors";
import { ipAllowed } from "../../lib/cidr";
import { LruMap } from "../../lib/lru";
import { count } from "../../lib/metrics";
import { hashKey, KEY_PATTERN, PLATFORM_TOKEN_PREFIX } from "./keys";

export const PRINCIPAL_CACHE_MS = 30_000;
/** `last_used_at` is written at most this often per key. */
export const LAST_USED_INTERVAL_MS = 60_000;

export type Principal = PrincipalRow & { keyHash: string; sandbox: boolean };

type Cached = { principal: Principal | null; until: number };
/** Per isolate; a flood of random well-formed keys only pushes out the least recently used. */
export const MAX_CACHE_ENTRIES = 10_000;
const cache = new LruMap<string, Cached>(MAX_CACHE_ENTRIES);
const lastUsedWrites = new LruMap<string, number>(MAX_CACHE_ENTRIES);

export function forgetPrincipals(predicate: (p: Principal) => boolean): void {
	const stale: string[] = [];
	for (const [hash, entry] of cache) if (entry.principal && predicate(entry.principal)) stale.push(hash);
	for (const hash of stale) cache.delete(hash);
}

/** How many principals this isolate holds (for tests and metrics). */
export function cachedPrincipalCount(): number {
	return cache.size;
}

/** True when the key with this hash is cached in this isolate (for tests). */
export function isPrincipalCached(keyHash: string): boolean {
	return cache.peek(keyHash) !== undefined;
}

export function forgetAllPrincipals(): void {
	cache.clear();
	lastUsedWrites.clear();
}

async function lookup(d1: D1Database, secret: string, now: number): Promise<Principal | null> {
	const keyHash = await hashKey(secret);
	const hit = cache.get(keyHash);
	if (hit && hit.until > now) return hit.principal;
	count("api_key_lookups_total");
	const row = await findPrincipalByHash(d1, keyHash);
	const principal = row ? { ...row, keyHash, sandbox: row.mode === "test" || row.workspaceSandbox } : null;
	// Unknown keys are cached briefly too, so a client retrying a wrong key does not hit D1 each time.
	cache.set(keyHash, { principal, until: now + (principal ? PRINCIPAL_CACHE_MS : 5_000) });
	return principal;
}

export async function authenticate(
	d1: D1Database,
	authorization: string | undefined,
	now: number,
): Promise<Result<Principal, ApiError>> {
	const match = authorization?.match(/^Bearer\s+(\S+)\s*$/i);
	if (!match?.[1]) {
		return err(new ApiError("unauthorized", "Missing API key. Send it as `Authorization: Bearer mq_live_…`."));
	}
	return authenticateSecret(d1, match[1], now);
}

/**
 * The same checks for a key taken from wherever the caller put it (the provider-compatible routes
 * read it from X-Postmark-Server-Token, Basic auth or a JSON body).
 */
export async function authenticateSecret(
	d1: D1Database,
	secret: string,
	now: number,
): Promise<Result<Principal, ApiError>> {
	// Recognised by its prefix only, never compared: workspace routes give the platform token no power.
	if (secret.startsWith(PLATFORM_TOKEN_PREFIX)) {
		return err(
			new ApiError("forbidden", "The platform token only works on /v1/platform/*; use a workspace API key here."),
		);
	}
	if (!KEY_PATTERN.test(secret)) return err(new ApiError("unauthorized", "The API key is malformed."));
	const principal = await lookup(d1, secret, now);
	if (!principal || principal.revokedAt !== null)
		return err(new ApiError("unauthorized", "The API key is invalid or revoked."));
	if (principal.expiresAt !== null && principal.expiresAt <= now) {
		return err(new ApiError("unauthorized", "The API key has expired."));
	}
	if (principal.workspaceStatus !== "active") {
		return err(
			new ApiError(
				"workspace_suspended",
				"The workspace of this API key is suspended: the API refuses its keys and its queued mail is held until an operator resumes it.",
			),
		);
	}
	return ok(principal);
}

export function authorize(principal: Principal, scope: ApiKeyScope, ip: string | null): Result<true, ApiError> {
	if (!ipAllowed(ip, principal.ipAllowlist)) {
		return err(
			new ApiError("forbidden", `Requests from ${ip ?? "an unknown address"} are not allowed for this API key.`),
		);
	}
	if (!principal.scopes.includes(scope) && !principal.scopes.includes("admin")) {
		return err(new ApiError("forbidden", `This API key lacks the "${scope}" scope.`));
	}
	return ok(true);
}

/** True when this isolate should write `last_used_at` now (at most once a minute per key). */
export function shouldTouch(keyId: string, now: number): boolean {
	const last = lastUsedWrites.get(keyId);
	if (last !== undefined && now - last < LAST_USED_INTERVAL_MS) return false;
	lastUsedWrites.set(keyId, now);
	return true;
}
