// /v1/suppressions security: no key, a key without `suppression:manage`, another workspace's entry;
// /v1/platform/suppressions: only the PLATFORM_TOKEN.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/lib/ids";
import { PLATFORM_TOKEN, platform } from "../helpers/platform";
import { request } from "../helpers/worker";
import { createWorkspace, insertKey } from "../helpers/workspace";

const count = async (workspaceId: string) =>
	(
		await env.DB.prepare("SELECT COUNT(*) AS n FROM suppressions WHERE workspace_id = ?")
			.bind(workspaceId)
			.first<{ n: number }>()
	)?.n;

describe("suppression list security", () => {
	it("answers 401 without a key and 403 without the scope, and changes nothing", async () => {
		const ws = await createWorkspace();
		const { key: reader } = await insertKey(ws.id, { scopes: ["email:send", "email:read"] });
		for (const [path, method] of [
			["/v1/suppressions", "POST"],
			["/v1/suppressions", "GET"],
			["/v1/suppressions/a@x.test", "GET"],
			["/v1/suppressions/a@x.test", "DELETE"],
			["/v1/suppression-settings", "GET"],
			["/v1/suppression-settings", "PUT"],
		] as const) {
			const body =
				method === "POST"
					? { email: "a@x.test" }
					: method === "PUT"
						? { soft_bounce_limit: 0, soft_bounce_window_days: 1 }
						: undefined;
			expect((await request(path, { method, body })).status, `${method} ${path}`).toBe(401);
			expect((await request(path, { key: reader, method, body })).status, `${method} ${path}`).toBe(403);
		}
		expect(await count(ws.id)).toBe(0);
		// The scope (or admin) is what lets the same call through.
		expect((await request("/v1/suppressions", { key: ws.key, body: { email: "a@x.test" } })).status).toBe(201);
		expect(await count(ws.id)).toBe(1);
	});

	it("does not show or remove another workspace's entry", async () => {
		const mine = await createWorkspace();
		const theirs = await createWorkspace();
		await env.DB.prepare(
			"INSERT INTO suppressions (id, workspace_id, email, reason) VALUES (?, ?, 'their@x.test', 'manual')",
		)
			.bind(newId("sup"), theirs.id)
			.run();
		expect((await request("/v1/suppressions/their@x.test", { key: mine.key })).status).toBe(404);
		expect((await request("/v1/suppressions/their@x.test", { key: mine.key, method: "DELETE" })).status).toBe(404);
		const page = (await (await request("/v1/suppressions", { key: mine.key })).json()) as { data: unknown[] };
		expect(page.data).toEqual([]);
		expect(await count(theirs.id)).toBe(1);
		expect((await request("/v1/suppressions/their@x.test", { key: theirs.key })).status).toBe(200);
	});

	it("lets only the platform token manage the platform's list", async () => {
		const ws = await createWorkspace();
		const email = `p-${Date.now()}@x.test`;
		expect((await platform("/v1/platform/suppressions", { key: undefined, body: { email } })).status).toBe(401);
		expect((await platform("/v1/platform/suppressions", { key: ws.key, body: { email } })).status).toBe(403);
		expect((await platform("/v1/platform/suppressions", { key: `${PLATFORM_TOKEN}x`, body: { email } })).status).toBe(
			401,
		);
		// A deployment without a platform token refuses even the right-looking one (whatever .dev.vars holds).
		expect(
			(
				await request("/v1/platform/suppressions", {
					key: PLATFORM_TOKEN,
					body: { email },
					env: { PLATFORM_TOKEN: undefined },
				})
			).status,
		).toBe(503);
		const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM platform_suppressions WHERE email = ?")
			.bind(email)
			.first<{ n: number }>();
		expect(stored?.n).toBe(0);
		// A workspace key cannot reach it through the workspace routes either: they touch only its own list.
		expect((await platform("/v1/platform/suppressions", { body: { email } })).status).toBe(201);
		expect((await request(`/v1/suppressions/${email}`, { key: ws.key, method: "DELETE" })).status).toBe(404);
		expect((await platform(`/v1/platform/suppressions/${email}`, { method: "DELETE" })).status).toBe(204);
	});
});
