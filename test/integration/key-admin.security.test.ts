// Key administration cannot widen power: a key only creates or rotates keys no more powerful than
// itself (mode, IP allowlist, expiry), and rotation never extends the old key's life.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { json, request } from "../helpers/worker";
import { createWorkspace, insertKey } from "../helpers/workspace";

type Created = { id: string; key: string; mode: string; expires_at: string | null; ip_allowlist: string[] };
type Envelope = { error: { code: string; message: string } };

const IP = { "cf-connecting-ip": "10.1.2.3" };

async function create(adminKey: string, body: unknown, headers: Record<string, string> = {}) {
	return request("/v1/api-keys", { key: adminKey, body, headers });
}

async function refused(res: Response, message: RegExp) {
	expect(res.status).toBe(403);
	const body = await json<Envelope>(res);
	expect(body.error.code).toBe("forbidden");
	expect(body.error.message).toMatch(message);
}

async function keyCount(workspaceId: string) {
	const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE workspace_id = ?")
		.bind(workspaceId)
		.first<{ n: number }>();
	return row?.n ?? 0;
}

describe("key administration cannot widen power", () => {
	it("a test-mode admin key cannot create a live key, or rotate one", async () => {
		const ws = await createWorkspace({ mode: "test" });
		const before = await keyCount(ws.id);
		await refused(await create(ws.key, { name: "x", mode: "live" }), /test-mode key cannot create or rotate a live/);
		expect(await keyCount(ws.id)).toBe(before);
		const test = await create(ws.key, { name: "t", mode: "test" });
		expect(test.status).toBe(201);

		const live = await insertKey(ws.id, { mode: "live", scopes: ["email:send"] });
		const rotate = await request(`/v1/api-keys/${live.keyId}/rotate`, { key: ws.key, method: "POST" });
		await refused(rotate, /live/);
		// The live key still works: the refused rotation changed nothing.
		expect((await request("/v1/emails/batch", { key: live.key, body: [] })).status).toBe(422);
	});

	it("an IP-restricted admin key mints only keys whose allowlist is inside its own", async () => {
		const ws = await createWorkspace({ mode: "live", ipAllowlist: ["10.0.0.0/8", "2001:db8::/32"] });
		await refused(await create(ws.key, { name: "open", mode: "live" }, IP), /without an IP allowlist/);
		await refused(
			await create(ws.key, { name: "wide", ip_allowlist: ["0.0.0.0/0"] }, IP),
			/0\.0\.0\.0\/0 is not inside/,
		);
		await refused(
			await create(ws.key, { name: "partly", ip_allowlist: ["10.1.0.0/16", "192.168.0.1"] }, IP),
			/192\.168\.0\.1/,
		);
		const narrow = await create(ws.key, { name: "narrow", ip_allowlist: ["10.1.0.0/16", "2001:db8:1::1"] }, IP);
		expect(narrow.status).toBe(201);

		const unrestricted = await insertKey(ws.id, { mode: "live" });
		await refused(
			await request(`/v1/api-keys/${unrestricted.keyId}/rotate`, { key: ws.key, method: "POST", headers: IP }),
			/without an IP allowlist/,
		);
	});

	it("an expiring admin key cannot mint a key that outlives it, or rotate one", async () => {
		const expiresAt = Date.now() + 3600_000;
		const ws = await createWorkspace({ mode: "live", expiresAt });
		await refused(await create(ws.key, { name: "forever" }), /outlives it/);
		await refused(
			await create(ws.key, { name: "later", expires_at: new Date(expiresAt + 60_000).toISOString() }),
			/outlives it/,
		);
		const sooner = await create(ws.key, { name: "sooner", expires_at: new Date(expiresAt - 60_000).toISOString() });
		expect(sooner.status).toBe(201);

		const forever = await insertKey(ws.id, { mode: "live" });
		await refused(
			await request(`/v1/api-keys/${forever.keyId}/rotate`, { key: ws.key, method: "POST" }),
			/outlives it/,
		);
	});

	it("an unrestricted live admin key may create any key", async () => {
		const ws = await createWorkspace({ mode: "live" });
		const res = await create(ws.key, { name: "any", mode: "live", scopes: ["admin"] });
		expect(res.status).toBe(201);
		expect((await json<Created>(res)).mode).toBe("live");
	});
});

describe("rotation keeps the old key's expiry", () => {
	it("keeps an expiry earlier than the grace period's end, and the new key inherits it", async () => {
		const ws = await createWorkspace({ mode: "live" });
		const expiresAt = Date.now() + 120_000;
		const old = await insertKey(ws.id, { mode: "live", scopes: ["email:read"], expiresAt });
		const res = await request(`/v1/api-keys/${old.keyId}/rotate`, {
			key: ws.key,
			body: { grace_period_seconds: 7 * 24 * 3600 },
		});
		expect(res.status).toBe(201);
		const rotated = await json<Created>(res);
		expect(rotated.expires_at).toBe(new Date(expiresAt).toISOString());
		const row = await env.DB.prepare("SELECT expires_at, revoked_at FROM api_keys WHERE id = ?")
			.bind(old.keyId)
			.first<{ expires_at: number; revoked_at: number | null }>();
		expect(row).toEqual({ expires_at: expiresAt, revoked_at: null });
	});

	it("shortens a later expiry to the grace period's end", async () => {
		const ws = await createWorkspace({ mode: "live" });
		const old = await insertKey(ws.id, { mode: "live", expiresAt: Date.now() + 30 * 24 * 3600_000 });
		const before = Date.now();
		await request(`/v1/api-keys/${old.keyId}/rotate`, { key: ws.key, body: { grace_period_seconds: 600 } });
		const row = await env.DB.prepare("SELECT expires_at FROM api_keys WHERE id = ?")
			.bind(old.keyId)
			.first<{ expires_at: number }>();
		expect(row?.expires_at).toBeGreaterThanOrEqual(before + 600_000);
		expect(row?.expires_at).toBeLessThanOrEqual(Date.now() + 600_000);
	});
});
