// /v1/api-keys: create (shown once, hashed at rest), list, revoke, rotate, validation.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hashKey } from "../../src/domain/auth/keys";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type CreatedKey = {
	id: string;
	key: string;
	prefix: string;
	mode: string;
	scopes: string[];
	ip_allowlist: string[];
	expires_at: string | null;
};

async function create(adminKey: string, body: unknown) {
	const res = await request("/v1/api-keys", { key: adminKey, body });
	return { res, body: await json<CreatedKey & { error?: { code: string; message: string } }>(res) };
}

describe("API keys", () => {
	it("creates a key shown once, stored only as its SHA-256 hash, that authenticates", async () => {
		const ws = await createWorkspace({ mode: "live" });
		const { res, body } = await create(ws.key, { name: "Production", scopes: ["email:send"] });
		expect(res.status).toBe(201);
		expect(body.key).toMatch(/^mq_live_[A-Za-z0-9_-]{43}$/);
		expect(body.prefix).toBe(body.key.slice(0, 12));
		expect(body.scopes).toEqual(["email:send"]);
		const stored = await env.DB.prepare("SELECT key_hash FROM api_keys WHERE id = ?")
			.bind(body.id)
			.first<{ key_hash: string }>();
		expect(stored?.key_hash).toBe(await hashKey(body.key));
		const dump = JSON.stringify(await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(body.id).first());
		expect(dump).not.toContain(body.key);

		const list = await json<{ data: Record<string, unknown>[] }>(await request("/v1/api-keys", { key: ws.key }));
		const listed = list.data.find((k) => k.id === body.id);
		expect(listed).toMatchObject({ name: "Production", prefix: body.prefix });
		expect(listed).not.toHaveProperty("key");
		// The new key may send but not read.
		expect((await request("/v1/emails", { key: body.key })).status).toBe(403);
	});

	it("creates test-mode keys with an IP allowlist and an expiry", async () => {
		const ws = await createWorkspace({ mode: "live" });
		const expires = new Date(Date.now() + 3600_000).toISOString();
		const { res, body } = await create(ws.key, {
			name: "CI",
			mode: "test",
			scopes: ["email:read"],
			ip_allowlist: ["192.0.2.0/24"],
			expires_at: expires,
		});
		expect(res.status).toBe(201);
		expect(body.key.startsWith("mq_test_")).toBe(true);
		expect(body.expires_at).toBe(expires);
		expect((await request("/v1/emails", { key: body.key, headers: { "cf-connecting-ip": "192.0.2.7" } })).status).toBe(
			200,
		);
		expect(
			(await request("/v1/emails", { key: body.key, headers: { "cf-connecting-ip": "198.51.100.1" } })).status,
		).toBe(403);
	});

	it("refuses invalid scopes, CIDRs, past expiries and unknown fields with 422", async () => {
		const ws = await createWorkspace({ mode: "live" });
		for (const body of [
			{ name: "x", scopes: ["root"] },
			{ name: "x", ip_allowlist: ["10.0.0.0/33"] },
			{ name: "x", ip_allowlist: ["not-an-ip"] },
			{ name: "x", expires_at: "2000-01-01T00:00:00Z" },
			{ name: "x", owner: "me" },
			{ name: "" },
		]) {
			const { res } = await create(ws.key, body);
			expect(res.status, JSON.stringify(body)).toBe(422);
		}
	});

	it("revokes a key: it stops working at once and leaves the list", async () => {
		const ws = await createWorkspace({ mode: "live" });
		const { body } = await create(ws.key, { name: "Temp", scopes: ["email:read"] });
		expect((await request("/v1/emails", { key: body.key })).status).toBe(200);
		const res = await request(`/v1/api-keys/${body.id}`, { key: ws.key, method: "DELETE" });
		expect(await json(res)).toEqual({ id: body.id, revoked: true });
		expect((await request("/v1/emails", { key: body.key })).status).toBe(401);
		expect((await request(`/v1/api-keys/${body.id}`, { key: ws.key, method: "DELETE" })).status).toBe(404);
	});

	it("rotates a key: same settings, new secret, the old one revoked at once or after a grace period", async () => {
		const ws = await createWorkspace({ mode: "live" });
		const { body: original } = await create(ws.key, { name: "Rotating", scopes: ["email:read"], mode: "test" });
		const res = await request(`/v1/api-keys/${original.id}/rotate`, { key: ws.key, method: "POST" });
		expect(res.status).toBe(201);
		const rotated = await json<CreatedKey>(res);
		expect(rotated.key).not.toBe(original.key);
		expect(rotated).toMatchObject({ mode: "test", scopes: ["email:read"] });
		expect((await request("/v1/emails", { key: rotated.key })).status).toBe(200);
		expect((await request("/v1/emails", { key: original.key })).status).toBe(401);

		const graced = await json<CreatedKey>(
			await request(`/v1/api-keys/${rotated.id}/rotate`, { key: ws.key, body: { grace_period_seconds: 600 } }),
		);
		expect((await request("/v1/emails", { key: rotated.key })).status).toBe(200);
		expect((await request("/v1/emails", { key: graced.key })).status).toBe(200);
		const bad = await request(`/v1/api-keys/${graced.id}/rotate`, { key: ws.key, body: { grace_period_seconds: -1 } });
		expect(bad.status).toBe(422);
	});

	it("does not reach another workspace's keys", async () => {
		const a = await createWorkspace({ mode: "live" });
		const b = await createWorkspace({ mode: "live" });
		const { body } = await create(a.key, { name: "A's" });
		expect((await request(`/v1/api-keys/${body.id}`, { key: b.key, method: "DELETE" })).status).toBe(404);
		expect((await request(`/v1/api-keys/${body.id}/rotate`, { key: b.key, method: "POST" })).status).toBe(404);
		const list = await json<{ data: { id: string }[] }>(await request("/v1/api-keys", { key: b.key }));
		expect(list.data.map((k) => k.id)).not.toContain(body.id);
	});
});
