// The platform token for tests, passed as a binding override (the test config sets none, so the
// platform API's "not configured" answer is tested as it comes), and calls made with it.
import { env } from "cloudflare:workers";
import type { Env } from "../../src/env";
import { json, type RequestOptions, request } from "./worker";

export const PLATFORM_TOKEN = "mq_platform_test_token_0123456789abcdefghijklmnopqrstu";
export const platformEnv: Partial<Env> = { PLATFORM_TOKEN };

/** A request to the relay with the platform token configured, and presented unless `key` says otherwise. */
export function platform(path: string, options: RequestOptions = {}): Promise<Response> {
	return request(path, { key: PLATFORM_TOKEN, ...options, env: { ...platformEnv, ...options.env } });
}

export type PlatformWorkspace = {
	id: string;
	slug: string;
	name: string;
	status: "active" | "suspended" | "deleting";
	sandbox_mode: boolean;
	limits: { daily: number | null; monthly: number | null; per_sender_daily: number | null };
	deletion: null | {
		requested_at: string;
		purge_starts_at: string;
		rows_deleted: number;
		objects_deleted: number;
		runs: number;
		last_run_at: string | null;
	};
};

export type CreatedWorkspace = { workspace: PlatformWorkspace; api_key: { id: string; key: string; scopes: string[] } };

let slugs = 0;
export const uniqueSlug = (base = "acme") => `${base}-${Date.now().toString(36)}-${++slugs}`;

/** Creates a workspace through the platform API, with a verified domain (DNS checks are not part of it). */
export async function createViaPlatform(
	body: Record<string, unknown> = {},
): Promise<CreatedWorkspace & { domain: string }> {
	const res = await platform("/v1/platform/workspaces", { body: { slug: uniqueSlug(), ...body } });
	if (res.status !== 201) throw new Error(`platform create answered ${res.status}: ${await res.text()}`);
	const created = await json<CreatedWorkspace>(res);
	const domain = `${created.workspace.slug}.test`;
	await env.DB.prepare(
		"INSERT INTO domains (id, workspace_id, name, status, verification_token, verified_at) VALUES (?, ?, ?, 'verified', 'x', ?)",
	)
		.bind(`dom_${created.workspace.id}`, created.workspace.id, domain, Date.now())
		.run();
	return { ...created, domain };
}
