// Managing a workspace's API keys: create (the secret is shown once), list, revoke, rotate. A key can
// only create or rotate keys no more powerful than itself: no live key from a test key, no wider IP
// allowlist than its own, no later expiry than its own.
import type { Db } from "../../db/client";
import {
	type ApiKeyRecord,
	findApiKey,
	insertApiKey,
	listApiKeys,
	revokeApiKey,
	rotateApiKey,
} from "../../db/repositories/api-keys";
import type { ApiKeyScope } from "../../db/schema";
import { ApiError, err, ok, type Result } from "../../errors";
import { cidrWithin } from "../../lib/cidr";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";
import { generateKey, hashKey, type KeyMode } from "./keys";
import { forgetPrincipals, type Principal } from "./principal";

/** The calling key, as far as key administration cares. */
export type Caller = Pick<Principal, "workspaceId" | "keyId" | "mode" | "ipAllowlist" | "expiresAt">;

type Power = { mode: KeyMode; ipAllowlist: readonly string[]; expiresAt: number | null };

/** Why a key with `target`'s settings would be more powerful than `caller`, or null. */
export function widening(caller: Power, target: Power): string | null {
	if (caller.mode === "test" && target.mode === "live") {
		return "A test-mode key cannot create or rotate a live key; use a live admin key.";
	}
	if (caller.ipAllowlist.length > 0) {
		if (target.ipAllowlist.length === 0) {
			return "An IP-restricted key cannot create or rotate a key without an IP allowlist; give it ranges inside this key's allowlist.";
		}
		const outside = target.ipAllowlist.find((range) => !caller.ipAllowlist.some((own) => cidrWithin(range, own)));
		if (outside !== undefined) {
			return `The range ${outside} is not inside this key's IP allowlist (${caller.ipAllowlist.join(", ")}).`;
		}
	}
	if (caller.expiresAt !== null && (target.expiresAt === null || target.expiresAt > caller.expiresAt)) {
		return `A key that expires cannot create or rotate a key that outlives it; set expires_at to ${iso(caller.expiresAt)} or earlier.`;
	}
	return null;
}

export type NewKeyInput = {
	name: string;
	mode: KeyMode;
	scopes: ApiKeyScope[];
	ipAllowlist: string[];
	expiresAt: number | null;
};

export type ApiKeyView = {
	id: string;
	name: string;
	prefix: string;
	mode: KeyMode;
	scopes: ApiKeyScope[];
	ip_allowlist: string[];
	expires_at: string | null;
	last_used_at: string | null;
	created_at: string;
};

export function keyView(k: ApiKeyRecord): ApiKeyView {
	return {
		id: k.id,
		name: k.name,
		prefix: k.prefix,
		mode: k.mode,
		scopes: k.scopes,
		ip_allowlist: k.ipAllowlist,
		expires_at: iso(k.expiresAt),
		last_used_at: iso(k.lastUsedAt),
		created_at: iso(k.createdAt),
	};
}

export async function newKeyRow(workspaceId: string, input: NewKeyInput, rotatedFromId: string | null) {
	const { secret, prefix } = generateKey(input.mode);
	return {
		secret,
		row: {
			id: newId("key"),
			workspaceId,
			name: input.name,
			prefix,
			keyHash: await hashKey(secret),
			mode: input.mode,
			scopes: input.scopes,
			ipAllowlist: input.ipAllowlist,
			expiresAt: input.expiresAt,
			rotatedFromId,
		},
	};
}

export type CreatedKey = ApiKeyView & { key: string };

export async function createKey(db: Db, caller: Caller, input: NewKeyInput): Promise<Result<CreatedKey, ApiError>> {
	const wider = widening(caller, input);
	if (wider) return err(new ApiError("forbidden", wider));
	const { secret, row } = await newKeyRow(caller.workspaceId, input, null);
	return ok({ ...keyView(await insertApiKey(db, row)), key: secret });
}

export async function keysOf(db: Db, workspaceId: string): Promise<ApiKeyView[]> {
	return (await listApiKeys(db, workspaceId)).map(keyView);
}

export async function revokeKey(db: Db, workspaceId: string, id: string): Promise<boolean> {
	const revoked = await revokeApiKey(db, workspaceId, id, Date.now());
	if (revoked) forgetPrincipals((p) => p.keyId === id);
	return revoked;
}

/**
 * Issues a new secret with the same settings; the old one stops working after `graceSeconds`, or at
 * its own expiry if that comes first (rotation never extends a key's life).
 */
export async function rotateKey(
	db: Db,
	caller: Caller,
	id: string,
	graceSeconds: number,
	now = Date.now(),
): Promise<Result<CreatedKey, ApiError>> {
	const old = await findApiKey(db, caller.workspaceId, id);
	if (!old) return err(new ApiError("not_found", "No active API key with this id in this workspace."));
	if (old.expiresAt !== null && old.expiresAt <= now) {
		return err(new ApiError("validation_error", "This key has expired; create a new key instead of rotating it."));
	}
	const wider = widening(caller, old);
	if (wider) return err(new ApiError("forbidden", wider));
	const { secret, row } = await newKeyRow(
		caller.workspaceId,
		{ name: old.name, mode: old.mode, scopes: old.scopes, ipAllowlist: old.ipAllowlist, expiresAt: old.expiresAt },
		old.id,
	);
	const graceEnd = now + graceSeconds * 1000;
	const oldEnd = old.expiresAt === null ? graceEnd : Math.min(old.expiresAt, graceEnd);
	const created = await rotateApiKey(db, old, row, oldEnd);
	forgetPrincipals((p) => p.keyId === id);
	return ok({ ...keyView(created), key: secret });
}
