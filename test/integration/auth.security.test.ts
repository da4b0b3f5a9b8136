// Authentication and authorization on every route group: missing, malformed, unknown, revoked and
// expired keys; scopes; IP allowlists; suspended workspaces; `last_used_at` bookkeeping.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ApiKeyScope } from "../../src/db/schema";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace, insertKey } from "../helpers/workspace";

const routes: { method: string; path: string; scope: ApiKeyScope; body?: unknown }[] = [
	{ method: "POST", path: "/v1/emails", scope: "email:send", body: {} },
	{ method: "POST", path: "/v1/emails/batch", scope: "email:send", body: [] },
	{ method: "GET", path: "/v1/emails", scope: "email:read" },
	{ method: "GET", path: "/v1/emails/01M82PSQ3HZD8M2SZS809CC750GNV554PM", scope: "email:read" },
	{ method: "GET", path: "/v1/api-keys", scope: "admin" },
	{ method: "POST", path: "/v1/api-keys", scope: "admin", body: { name: "x" } },
	{ method: "GET", path: "/v1/domains", scope: "admin" },
	{ method: "POST", path: "/v1/domains", scope: "admin", body: { name: "x.test" } },
	{ method: "GET", path: "/metrics", scope: "admin" },
	{ method: "GET", path: "/v1/workspace", scope: "admin" },
	{ method: "PATCH", path: "/v1/workspace", scope: "admin", body: { sandbox_mode: true } },
];

async function code(res: Response) {
	return { status: res.status, code: (await json<{ error: { code: string } }>(res)).error.code };
}

describe("authentication", () => {
	for (const route of routes) {
		it(`${route.method} ${route.path} refuses a missing, malformed or unknown key with 401`, async () => {
			for (const authorization of [undefined, "Basic abc", "Bearer nope", "Bearer mq_live_unknownunknownunknown00"]) {
				const res = await request(route.path, {
					method: route.method,
					body: route.body,
					headers: authorization ? { authorization } : {},
				});
				expect(await code(res)).toEqual({ status: 401, code: "unauthorized" });
			}
		});

		it(`${route.method} ${route.path} refuses a key without the ${route.scope} scope with 403`, async () => {
			const ws = await createWorkspace();
			const other: ApiKeyScope = route.scope === "email:read" ? "email:send" : "email:read";
			const { key } = await insertKey(ws.id, { scopes: [other] });
			const res = await request(route.path, { method: route.method, body: route.body, key });
			expect(await code(res)).toEqual({ status: 403, code: "forbidden" });
		});
	}

	it("refuses revoked and expired keys with 401", async () => {
		const ws = await createWorkspace();
		const revoked = await insertKey(ws.id, { revokedAt: Date.now() - 1000 });
		const expired = await insertKey(ws.id, { expiresAt: Date.now() - 1000 });
		for (const { key } of [revoked, expired]) {
			expect(await code(await request("/v1/emails", { key }))).toEqual({ status: 401, code: "unauthorized" });
		}
	});

	it("refuses a key of a suspended workspace with 403", async () => {
		const ws = await createWorkspace();
		await env.DB.prepare("UPDATE workspaces SET status = 'suspended' WHERE id = ?").bind(ws.id).run();
		const { key } = await insertKey(ws.id);
		expect(await code(await request("/v1/emails", { key }))).toEqual({ status: 403, code: "workspace_suspended" });
	});

	it("admits only callers inside the key's IP allowlist", async () => {
		const ws = await createWorkspace();
		const { key } = await insertKey(ws.id, { ipAllowlist: ["10.0.0.0/8", "2001:db8::/32"] });
		const from = (ip?: string) => request("/v1/emails", { key, headers: ip ? { "cf-connecting-ip": ip } : {} });
		expect((await from("10.1.2.3")).status).toBe(200);
		expect((await from("2001:db8::1")).status).toBe(200);
		expect(await code(await from("192.168.1.1"))).toEqual({ status: 403, code: "forbidden" });
		expect(await code(await from())).toEqual({ status: 403, code: "forbidden" });
	});

	it("lets the admin scope stand for every other scope", async () => {
		const ws = await createWorkspace({ scopes: ["admin"] });
		const queue = new RecordingQueue();
		const res = await request("/v1/emails", { key: ws.key, body: sampleEmail(ws.domain), env: { SEND_QUEUE: queue } });
		expect(res.status).toBe(202);
	});

	it("writes last_used_at on first use and not again within the minute", async () => {
		const ws = await createWorkspace();
		const lastUsed = async () =>
			(
				await env.DB.prepare("SELECT last_used_at FROM api_keys WHERE id = ?")
					.bind(ws.keyId)
					.first<{ last_used_at: number | null }>()
			)?.last_used_at;
		expect(await lastUsed()).toBeNull();
		await request("/v1/emails", { key: ws.key });
		const first = await lastUsed();
		expect(first).toBeTypeOf("number");
		await new Promise((r) => setTimeout(r, 5));
		await request("/v1/emails", { key: ws.key });
		expect(await lastUsed()).toBe(first);
	});
});

describe("workspace isolation", () => {
	it("never shows one workspace's email to another workspace's key", async () => {
		const a = await createWorkspace();
		const b = await createWorkspace();
		const queue = new RecordingQueue();
		const sent = await request("/v1/emails", { key: a.key, body: sampleEmail(a.domain), env: { SEND_QUEUE: queue } });
		const { id } = await json<{ id: string }>(sent);
		// Materialize A's message (D1 row, events, captured MIME) so B's reads meet real rows.
		await runQueue("mq-send", queue.sent);
		expect((await json<{ status: string }>(await request(`/v1/emails/${id}`, { key: a.key }))).status).toBe("sent");
		expect((await request(`/v1/emails/${id}/content`, { key: a.key })).status).toBe(200);
		const listA = await json<{ data: { id: string }[] }>(await request("/v1/emails", { key: a.key }));
		expect(listA.data.map((e) => e.id)).toEqual([id]);

		expect((await request(`/v1/emails/${id}`, { key: b.key })).status).toBe(404);
		expect((await request(`/v1/emails/${id}/content`, { key: b.key })).status).toBe(404);
		const listB = await json<{ data: { id: string }[] }>(await request("/v1/emails", { key: b.key }));
		expect(listB.data).toEqual([]);
		const sentB = await json<{ data: unknown[] }>(await request("/v1/emails?status=sent", { key: b.key }));
		expect(sentB.data).toEqual([]);
	});

	it("does not let one workspace send from another workspace's verified domain", async () => {
		const a = await createWorkspace();
		const b = await createWorkspace();
		const res = await request("/v1/emails", {
			key: b.key,
			body: sampleEmail(a.domain),
			env: { SEND_QUEUE: new RecordingQueue() },
		});
		expect(await code(res)).toEqual({ status: 422, code: "domain_not_verified" });
	});
});
