// /v1/smtp-credentials needs smtp:manage, stays inside its workspace, and a test key cannot mint a
// live login.
import { describe, expect, it } from "vitest";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

describe("/v1/smtp-credentials security", () => {
	it("is 401 without a key and 403 without smtp:manage (admin also works)", async () => {
		expect((await request("/v1/smtp-credentials")).status).toBe(401);
		const sender = await createWorkspace({ scopes: ["email:send"] });
		expect((await request("/v1/smtp-credentials", { key: sender.key })).status).toBe(403);
		expect((await request("/v1/smtp-credentials", { key: sender.key, body: { name: "x" } })).status).toBe(403);
		const manager = await createWorkspace({ scopes: ["smtp:manage"], mode: "live" });
		expect((await request("/v1/smtp-credentials", { key: manager.key })).status).toBe(200);
		const admin = await createWorkspace({ scopes: ["admin"], mode: "live" });
		expect((await request("/v1/smtp-credentials", { key: admin.key, body: { name: "x" } })).status).toBe(201);
	});

	it("never shows or revokes another workspace's credential", async () => {
		const a = await createWorkspace({ scopes: ["smtp:manage"], mode: "live" });
		const b = await createWorkspace({ scopes: ["smtp:manage"], mode: "live" });
		const created = await json<{ id: string }>(
			await request("/v1/smtp-credentials", { key: a.key, body: { name: "x" } }),
		);
		expect((await request(`/v1/smtp-credentials/${created.id}`, { key: b.key })).status).toBe(404);
		expect((await request(`/v1/smtp-credentials/${created.id}`, { key: b.key, method: "DELETE" })).status).toBe(404);
		const list = await json<{ data: unknown[] }>(await request("/v1/smtp-credentials", { key: b.key }));
		expect(list.data).toEqual([]);
		expect((await request(`/v1/smtp-credentials/${created.id}`, { key: a.key })).status).toBe(200);
	});

	it("refuses a live credential from a test-mode key, and makes a test one", async () => {
		const ws = await createWorkspace({ scopes: ["smtp:manage"], mode: "test" });
		const live = await request("/v1/smtp-credentials", { key: ws.key, body: { name: "x" } });
		expect(live.status).toBe(403);
		const test = await request("/v1/smtp-credentials", { key: ws.key, body: { name: "x", mode: "test" } });
		expect(test.status).toBe(201);
	});
});
