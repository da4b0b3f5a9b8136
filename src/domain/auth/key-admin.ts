// Managing a workspace's API keys: create (the secret is shown once), list, revoke, rotate.
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
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";
import { generateKey, hashKey, type KeyMode } from "./keys";
import { forgetPrincipals } from "./principal";

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

async function newKeyRow(workspaceId: string, input: NewKeyInput, rotatedFromId: string | null) {
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

export async function createKey(
	db: Db,
	workspaceId: string,
	input: NewKeyInput,
): Promise<ApiKeyView & { key: string }> {
	const { secret, row } = await newKeyRow(workspaceId, input, null);
	return { ...keyView(await insertApiKey(db, row)), key: secret };
}

export async function keysOf(db: Db, workspaceId: string): Promise<ApiKeyView[]> {
	return (await listApiKeys(db, workspaceId)).map(keyView);
}

export async function revokeKey(db: Db, workspaceId: string, id: string): Promise<boolean> {
	const revoked = await revokeApiKey(db, workspaceId, id, Date.now());
	if (revoked) forgetPrincipals((p) => p.keyId === id);
	return revoked;
}

/** Issues a new secret with the same settings; the old one stops working after `graceSeconds`. */
export async function rotateKey(
	db: Db,
	workspaceId: string,
	id: string,
	graceSeconds: number,
): Promise<(ApiKeyView & { key: string }) | null> {
	const old = await findApiKey(db, workspaceId, id);
	if (!old) return null;
	const { secret, row } = await newKeyRow(
		workspaceId,
		{ name: old.name, mode: old.mode, scopes: old.scopes, ipAllowlist: old.ipAllowlist, expiresAt: old.expiresAt },
		old.id,
	);
	const created = await rotateApiKey(db, old, row, Date.now() + graceSeconds * 1000);
	forgetPrincipals((p) => p.keyId === id);
	return { ...keyView(created), key: secret };
}
