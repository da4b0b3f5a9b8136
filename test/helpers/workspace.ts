// Seeds an isolated workspace per test (its own id, key and verified domain) straight into D1, so
// tests never share state and need no reset between them.
import { env } from "cloudflare:workers";
import type { ApiKeyScope } from "../../src/db/schema";
import { generateKey, hashKey, type KeyMode } from "../../src/domain/auth/keys";
import { newId } from "../../src/lib/ids";

export type TestWorkspace = { id: string; key: string; keyId: string; domain: string };

export type KeyOptions = {
	mode?: KeyMode;
	scopes?: ApiKeyScope[];
	ipAllowlist?: string[];
	expiresAt?: number | null;
	revokedAt?: number | null;
};

export async function insertKey(
	workspaceId: string,
	options: KeyOptions = {},
): Promise<{ key: string; keyId: string }> {
	const { secret, prefix } = generateKey(options.mode ?? "test");
	const keyId = newId("key");
	await env.DB.prepare(
		`INSERT INTO api_keys (id, workspace_id, name, prefix, key_hash, mode, scopes, ip_allowlist, expires_at, revoked_at)
		 VALUES (?, ?, 'test', ?, ?, ?, ?, ?, ?, ?)`,
	)
		.bind(
			keyId,
			workspaceId,
			prefix,
			await hashKey(secret),
			options.mode ?? "test",
			JSON.stringify(options.scopes ?? ["admin"]),
			JSON.stringify(options.ipAllowlist ?? []),
			options.expiresAt ?? null,
			options.revokedAt ?? null,
		)
		.run();
	return { key: secret, keyId };
}

export async function createWorkspace(options: KeyOptions & { gateway?: boolean } = {}): Promise<TestWorkspace> {
	const id = newId("ws");
	const domain = `${id.replace("_", "-")}.test`;
	await env.DB.batch([
		env.DB.prepare("INSERT INTO workspaces (id, slug, name) VALUES (?, ?, ?)").bind(id, id, `Workspace ${id}`),
		env.DB.prepare(
			"INSERT INTO domains (id, workspace_id, name, status, verification_token, verified_at) VALUES (?, ?, ?, 'verified', 'x', ?)",
		).bind(newId("dom"), id, domain, Date.now()),
		...(options.gateway === false
			? []
			: [
					env.DB.prepare(
						"INSERT INTO gateways (id, workspace_id, name, type) VALUES (?, ?, 'Sandbox', 'sandbox')",
					).bind(newId("gw"), id),
				]),
	]);
	const { key, keyId } = await insertKey(id, options);
	return { id, key, keyId, domain };
}
