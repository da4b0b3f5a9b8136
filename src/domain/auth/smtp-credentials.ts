// SMTP credentials (seed 003's accounts): a generated user name and password that can only send,
// from the workspace's verified domains or a subset of them. Managed with the `smtp:manage` scope;
// the password is shown once. A login resolves to a Principal like an API key does, so the SMTP
// routes accept either through the same code. Logins are cached in the isolate for LOGIN_CACHE_MS
// (a revoked credential stops working within that time).
import type { Db } from "../../db/client";
import {
	findSmtpCredential,
	findSmtpLogin,
	insertSmtpCredential,
	listSmtpCredentials,
	revokeSmtpCredential,
	type SmtpCredentialRecord,
} from "../../db/repositories/smtp-credentials";
import { ApiError, err, ok, type Result } from "../../errors";
import { randomToken, sha256Hex, timingSafeEqual } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { LruMap } from "../../lib/lru";
import { iso } from "../../lib/time";
import type { KeyMode } from "./keys";
import type { Principal } from "./principal";

export const LOGIN_CACHE_MS = 30_000;
const cache = new LruMap<string, { principal: Principal | null; until: number }>(10_000);

export type SmtpCredentialView = {
	id: string;
	name: string;
	username: string;
	mode: KeyMode;
	allowed_domains: string[];
	last_used_at: string | null;
	created_at: string;
};

function view(row: SmtpCredentialRecord): SmtpCredentialView {
	return {
		id: row.id,
		name: row.name,
		username: row.username,
		mode: row.mode,
		allowed_domains: row.allowedDomains,
		last_used_at: row.lastUsedAt === null ? null : iso(row.lastUsedAt),
		created_at: iso(row.createdAt),
	};
}

export type NewSmtpCredential = { name: string; mode: KeyMode; allowedDomains: string[] };

export async function createSmtpCredential(
	db: Db,
	caller: Pick<Principal, "workspaceId" | "mode" | "verifiedDomains">,
	input: NewSmtpCredential,
): Promise<Result<SmtpCredentialView & { password: string }, ApiError>> {
	if (caller.mode === "test" && input.mode === "live") {
		return err(new ApiError("forbidden", "A test-mode key cannot create a live SMTP credential; use a live key."));
	}
	const allowed = [...new Set(input.allowedDomains.map((d) => d.toLowerCase()))];
	const unknown = allowed.find((d) => !caller.verifiedDomains.includes(d));
	if (unknown !== undefined) {
		return err(
			new ApiError("domain_not_verified", `"${unknown}" is not a verified domain of this workspace.`, [
				{ path: "allowed_domains", message: `${unknown} is not verified` },
			]),
		);
	}
	// Both random: the user name is not a secret, the password is one with 192 bits.
	const username = `smtp_${randomToken(12)
		.toLowerCase()
		.replace(/[^a-z0-9]/g, "x")}`;
	const password = `mq_smtp_${randomToken(24)}`;
	const row = await insertSmtpCredential(db, {
		id: newId("smtp"),
		workspaceId: caller.workspaceId,
		name: input.name,
		username,
		passwordHash: await sha256Hex(password),
		mode: input.mode,
		allowedDomains: allowed,
	});
	return ok({ ...view(row), password });
}

export async function smtpCredentialsOf(db: Db, workspaceId: string): Promise<SmtpCredentialView[]> {
	return (await listSmtpCredentials(db, workspaceId)).map(view);
}

export async function smtpCredential(db: Db, workspaceId: string, id: string): Promise<SmtpCredentialView | null> {
	const row = await findSmtpCredential(db, workspaceId, id);
	return row ? view(row) : null;
}

export async function revokeCredential(db: Db, workspaceId: string, id: string): Promise<boolean> {
	const revoked = await revokeSmtpCredential(db, workspaceId, id, Date.now());
	// This isolate forgets it at once; others within LOGIN_CACHE_MS.
	if (revoked) for (const [k, v] of cache) if (v.principal?.keyId === id) cache.delete(k);
	return revoked;
}

/** A user name and password → the principal that may send with them, or why not. */
export async function authenticateSmtpLogin(
	d1: D1Database,
	username: string,
	password: string,
	now: number,
): Promise<Result<Principal, ApiError>> {
	const invalid = err(new ApiError("unauthorized", "The SMTP user name or password is invalid or revoked."));
	const cacheKey = await sha256Hex(`${username}\n${password}`);
	const hit = cache.get(cacheKey);
	let principal: Principal | null;
	if (hit && hit.until > now) principal = hit.principal;
	else {
		const row = await findSmtpLogin(d1, username);
		principal = null;
		if (row && row.revokedAt === null && timingSafeEqual(row.passwordHash, await sha256Hex(password))) {
			const domains = row.allowedDomains.length > 0 ? row.allowedDomains : row.verifiedDomains;
			principal = {
				keyId: row.id,
				workspaceId: row.workspaceId,
				workspaceStatus: row.workspaceStatus,
				workspaceSandbox: row.workspaceSandbox,
				mode: row.mode,
				scopes: ["email:send"],
				ipAllowlist: [],
				expiresAt: null,
				revokedAt: null,
				// Allowed domains count only while they are still verified.
				verifiedDomains: domains.filter((d) => row.verifiedDomains.includes(d)),
				// A login names its domains exactly: no subdomains, and it sends to the default queue. Its
				// hard send limits are enforced by the consumer, not checked on the way in.
				verifiedParentDomains: [],
				unverifiedDomains: {},
				queues: [],
				limitFlags: { requestLimit: false, hardSend: false },
				keyHash: "",
				sandbox: row.mode === "test" || row.workspaceSandbox,
			};
		}
		cache.set(cacheKey, { principal, until: now + (principal ? LOGIN_CACHE_MS : 5_000) });
	}
	if (!principal) return invalid;
	if (principal.workspaceStatus !== "active") {
		return err(new ApiError("forbidden", "The workspace of this SMTP credential is suspended."));
	}
	return ok(principal);
}
