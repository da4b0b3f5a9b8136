// smtp_credentials: create, list, revoke, and the login lookup (credential + workspace + verified
// domains in one read).
import { and, desc, eq, isNull } from "drizzle-orm";
import type { Db } from "../client";
import { smtpCredentials } from "../schema";

export type SmtpCredentialRecord = typeof smtpCredentials.$inferSelect;

export async function insertSmtpCredential(
	db: Db,
	row: typeof smtpCredentials.$inferInsert,
): Promise<SmtpCredentialRecord> {
	const [created] = await db.insert(smtpCredentials).values(row).returning();
	if (!created) throw new Error("smtp credential insert returned no row");
	return created;
}

export async function listSmtpCredentials(db: Db, workspaceId: string): Promise<SmtpCredentialRecord[]> {
	return db
		.select()
		.from(smtpCredentials)
		.where(and(eq(smtpCredentials.workspaceId, workspaceId), isNull(smtpCredentials.revokedAt)))
		.orderBy(desc(smtpCredentials.createdAt), desc(smtpCredentials.id));
}

export async function findSmtpCredential(
	db: Db,
	workspaceId: string,
	id: string,
): Promise<SmtpCredentialRecord | null> {
	const [row] = await db
		.select()
		.from(smtpCredentials)
		.where(
			and(eq(smtpCredentials.workspaceId, workspaceId), eq(smtpCredentials.id, id), isNull(smtpCredentials.revokedAt)),
		);
	return row ?? null;
}

export async function revokeSmtpCredential(db: Db, workspaceId: string, id: string, at: number): Promise<boolean> {
	const rows = await db
		.update(smtpCredentials)
		.set({ revokedAt: at })
		.where(
			and(eq(smtpCredentials.workspaceId, workspaceId), eq(smtpCredentials.id, id), isNull(smtpCredentials.revokedAt)),
		)
		.returning({ id: smtpCredentials.id });
	return rows.length > 0;
}

export type SmtpLoginRow = {
	id: string;
	workspaceId: string;
	workspaceStatus: "active" | "suspended";
	workspaceSandbox: boolean;
	passwordHash: string;
	mode: "live" | "test";
	allowedDomains: string[];
	revokedAt: number | null;
	verifiedDomains: string[];
};

type RawLogin = {
	id: string;
	workspace_id: string;
	workspace_status: "active" | "suspended";
	workspace_sandbox: number;
	password_hash: string;
	mode: "live" | "test";
	allowed_domains: string;
	revoked_at: number | null;
	verified_domains: string;
};

export async function findSmtpLogin(d1: D1Database, username: string): Promise<SmtpLoginRow | null> {
	const row = await d1
		.prepare(
			`SELECT c.id, c.workspace_id, w.status AS workspace_status, w.sandbox_mode AS workspace_sandbox,
			   c.password_hash, c.mode, c.allowed_domains, c.revoked_at,
			   (SELECT json_group_array(d.name) FROM domains d WHERE d.workspace_id = c.workspace_id AND d.status = 'verified')
			     AS verified_domains
			 FROM smtp_credentials c JOIN workspaces w ON w.id = c.workspace_id
			 WHERE c.username = ?1`,
		)
		.bind(username)
		.first<RawLogin>();
	if (!row) return null;
	return {
		id: row.id,
		workspaceId: row.workspace_id,
		workspaceStatus: row.workspace_status,
		workspaceSandbox: row.workspace_sandbox === 1,
		passwordHash: row.password_hash,
		mode: row.mode,
		allowedDomains: JSON.parse(row.allowed_domains) as string[],
		revokedAt: row.revoked_at,
		verifiedDomains: JSON.parse(row.verified_domains) as string[],
	};
}
