// API keys in D1. The principal query loads, in one round trip, everything the send path needs about
// the caller: the key, its workspace's state and the workspace's verified sending domains.
import { and, desc, eq, isNull, lt, or } from "drizzle-orm";
import type { Db } from "../client";
import { type ApiKeyScope, apiKeys } from "../schema";

export type PrincipalRow = {
	keyId: string;
	workspaceId: string;
	workspaceStatus: "active" | "suspended";
	workspaceSandbox: boolean;
	mode: "live" | "test";
	scopes: ApiKeyScope[];
	ipAllowlist: string[];
	expiresAt: number | null;
	revokedAt: number | null;
	verifiedDomains: string[];
	/** Verified domains whose subdomains may send too (`include_subdomains`). */
	verifiedParentDomains: string[];
	/** The workspace's domains that may not send, each with why: its failure reason, or "pending". */
	unverifiedDomains: Record<string, string>;
	/** Issue 9: the workspace's named queues, to resolve `"queue"` on send without a D1 read. */
	queues: { id: string; name: string; priority?: number }[];
	/** Issue 9: whether the HTTP path must ask the WorkspaceLimiter (docs/rate-limits.md). */
	limitFlags: { requestLimit: boolean; hardSend: boolean; globalHard?: boolean };
};

type RawPrincipal = {
	key_id: string;
	workspace_id: string;
	workspace_status: "active" | "suspended";
	workspace_sandbox: number;
	mode: "live" | "test";
	scopes: string;
	ip_allowlist: string;
	expires_at: number | null;
	revoked_at: number | null;
	verified_domains: string;
	verified_parent_domains: string;
	unverified_domains: string;
	/** Absent only from rows built by hand (tests of the cache). */
	queues?: string;
	limit_flags?: string;
	global_hard?: number;
};

export async function findPrincipalByHash(d1: D1Database, keyHash: string): Promise<PrincipalRow | null> {
	const row = await d1
		.prepare(
			`SELECT k.id AS key_id, k.workspace_id, w.status AS workspace_status, w.sandbox_mode AS workspace_sandbox,
			   k.mode, k.scopes, k.ip_allowlist, k.expires_at, k.revoked_at,
			   (SELECT json_group_array(d.name) FROM domains d WHERE d.workspace_id = k.workspace_id AND d.status = 'verified')
			     AS verified_domains,
			   (SELECT json_group_array(d.name) FROM domains d
			     WHERE d.workspace_id = k.workspace_id AND d.status = 'verified' AND d.include_subdomains = 1)
			     AS verified_parent_domains,
			   (SELECT json_group_object(d.name, COALESCE(d.failure_reason, d.status)) FROM domains d
			     WHERE d.workspace_id = k.workspace_id AND d.status != 'verified')
			     AS unverified_domains,
			   (SELECT json_group_array(json_object('id', q.id, 'name', q.name, 'priority', q.priority)) FROM queues q WHERE q.workspace_id = k.workspace_id)
			     AS queues,
			   (SELECT json_group_array(json_object('scope', r.scope, 'key', r.key, 'kind', r.kind)) FROM rate_limits r
			     WHERE r.workspace_id = k.workspace_id AND ((r.scope = 'api_key' AND (r.key IS NULL OR r.key = k.id)) OR r.kind = 'hard'))
			     AS limit_flags,
			   (SELECT COUNT(*) FROM platform_rate_limits p WHERE p.kind = 'hard') AS global_hard
			 FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
			 WHERE k.key_hash = ?1`,
		)
		.bind(keyHash)
		.first<RawPrincipal>();
	if (!row) return null;
	return {
		keyId: row.key_id,
		workspaceId: row.workspace_id,
		workspaceStatus: row.workspace_status,
		workspaceSandbox: row.workspace_sandbox === 1,
		mode: row.mode,
		scopes: JSON.parse(row.scopes) as ApiKeyScope[],
		ipAllowlist: JSON.parse(row.ip_allowlist) as string[],
		expiresAt: row.expires_at,
		revokedAt: row.revoked_at,
		verifiedDomains: JSON.parse(row.verified_domains) as string[],
		verifiedParentDomains: JSON.parse(row.verified_parent_domains) as string[],
		unverifiedDomains: JSON.parse(row.unverified_domains) as Record<string, string>,
		queues: JSON.parse(row.queues ?? "[]") as { id: string; name: string; priority?: number }[],
		limitFlags: limitFlags(
			JSON.parse(row.limit_flags ?? "[]") as { scope: string; kind: string }[],
			row.global_hard ?? 0,
		),
	};
}

/** Records use, at most once a minute per key even across isolates (the WHERE guard). */
export async function touchLastUsed(db: Db, keyId: string, now: number, minIntervalMs: number): Promise<void> {
	await db
		.update(apiKeys)
		.set({ lastUsedAt: now })
		.where(and(eq(apiKeys.id, keyId), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, now - minIntervalMs))));
}

export type ApiKeyRecord = typeof apiKeys.$inferSelect;

export async function insertApiKey(db: Db, row: typeof apiKeys.$inferInsert): Promise<ApiKeyRecord> {
	const [created] = await db.insert(apiKeys).values(row).returning();
	if (!created) throw new Error("api key insert returned no row");
	return created;
}

export async function listApiKeys(db: Db, workspaceId: string): Promise<ApiKeyRecord[]> {
	return db
		.select()
		.from(apiKeys)
		.where(and(eq(apiKeys.workspaceId, workspaceId), isNull(apiKeys.revokedAt)))
		.orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
}

export async function findApiKey(db: Db, workspaceId: string, id: string): Promise<ApiKeyRecord | null> {
	const [row] = await db
		.select()
		.from(apiKeys)
		.where(and(eq(apiKeys.workspaceId, workspaceId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt)));
	return row ?? null;
}

export async function revokeApiKey(db: Db, workspaceId: string, id: string, at: number): Promise<boolean> {
	const rows = await db
		.update(apiKeys)
		.set({ revokedAt: at })
		.where(and(eq(apiKeys.workspaceId, workspaceId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
		.returning({ id: apiKeys.id, keyHash: apiKeys.keyHash });
	return rows.length > 0;
}

export async function keyHashOf(db: Db, id: string): Promise<string | null> {
	const [row] = await db.select({ keyHash: apiKeys.keyHash }).from(apiKeys).where(eq(apiKeys.id, id));
	return row?.keyHash ?? null;
}

/** Rotation: the new key is inserted and the old one expires, in one transaction. */
export async function rotateApiKey(
	db: Db,
	old: ApiKeyRecord,
	replacement: typeof apiKeys.$inferInsert,
	oldExpiresAt: number,
): Promise<ApiKeyRecord> {
	const [inserted] = await db.batch([
		db.insert(apiKeys).values(replacement).returning(),
		db
			.update(apiKeys)
			.set(oldExpiresAt <= Date.now() ? { revokedAt: oldExpiresAt } : { expiresAt: oldExpiresAt })
			.where(eq(apiKeys.id, old.id)),
	]);
	const created = inserted[0];
	if (!created) throw new Error("api key rotation returned no row");
	return created;
}

function limitFlags(rows: { scope: string; kind: string }[], globalHard: number): PrincipalRow["limitFlags"] {
	return {
		requestLimit: rows.some((r) => r.scope === "api_key"),
		// A global (platform) hard limit is checked on the send path too, through the workspace's object.
		hardSend: globalHard > 0 || rows.some((r) => r.scope !== "api_key" && r.kind === "hard"),
		globalHard: globalHard > 0,
	};
}
