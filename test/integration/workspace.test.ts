// GET/PATCH /v1/workspace: the settings, their validation, the security of the route, and a change
// to sandbox_mode taking effect for the workspace's keys at once.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SendJob } from "../../src/domain/messages/model";
import { json, RecordingQueue, request, sampleEmail } from "../helpers/worker";
import { createWorkspace, insertKey } from "../helpers/workspace";

type Workspace = { id: string; slug: string; name: string; status: string; sandbox_mode: boolean; created_at: string };

const patch = (key: string | undefined, body: unknown) => request("/v1/workspace", { key, method: "PATCH", body });

describe("GET/PATCH /v1/workspace", () => {
	it("shows the workspace's settings", async () => {
		const ws = await createWorkspace();
		const res = await request("/v1/workspace", { key: ws.key });
		expect(res.status).toBe(200);
		const body = await json<Workspace>(res);
		expect(body).toEqual({
			id: ws.id,
			slug: ws.id,
			name: `Workspace ${ws.id}`,
			status: "active",
			sandbox_mode: false,
			created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
		});
	});

	it("changes name and sandbox_mode and returns the result", async () => {
		const ws = await createWorkspace();
		const res = await patch(ws.key, { name: "  Acme  ", sandbox_mode: true });
		expect(res.status).toBe(200);
		expect(await json<Workspace>(res)).toMatchObject({ name: "Acme", sandbox_mode: true });
		const row = await env.DB.prepare("SELECT name, sandbox_mode FROM workspaces WHERE id = ?")
			.bind(ws.id)
			.first<{ name: string; sandbox_mode: number }>();
		expect(row).toEqual({ name: "Acme", sandbox_mode: 1 });
	});

	it("refuses unknown fields, read-only fields and wrong types with 422", async () => {
		const ws = await createWorkspace();
		for (const body of [{ sandbox: true }, { status: "suspended" }, { sandbox_mode: "yes" }, { name: "" }]) {
			const res = await patch(ws.key, body);
			expect(res.status, JSON.stringify(body)).toBe(422);
		}
		expect((await json<Workspace>(await request("/v1/workspace", { key: ws.key }))).status).toBe("active");
	});

	it("applies a sandbox_mode change to the workspace's cached live keys at once", async () => {
		const ws = await createWorkspace({ mode: "live" });
		const queue = new RecordingQueue();
		const send = () => request("/v1/emails", { key: ws.key, body: sampleEmail(ws.domain), env: { SEND_QUEUE: queue } });
		expect((await send()).status).toBe(202); // caches the principal with sandbox false
		expect((await patch(ws.key, { sandbox_mode: true })).status).toBe(200);
		expect((await send()).status).toBe(202);
		expect((await patch(ws.key, { sandbox_mode: false })).status).toBe(200);
		expect((await send()).status).toBe(202);
		expect(queue.sent.map((j) => (j as SendJob).sandbox)).toEqual([false, true, false]);
	});
});

describe("/v1/workspace security", () => {
	it("refuses a missing key with 401 and a key without the admin scope with 403", async () => {
		const ws = await createWorkspace();
		expect((await request("/v1/workspace")).status).toBe(401);
		expect((await patch(undefined, { sandbox_mode: true })).status).toBe(401);
		const { key } = await insertKey(ws.id, { scopes: ["email:send", "email:read"] });
		expect((await request("/v1/workspace", { key })).status).toBe(403);
		expect((await patch(key, { sandbox_mode: true })).status).toBe(403);
		expect((await json<Workspace>(await request("/v1/workspace", { key: ws.key }))).sandbox_mode).toBe(false);
	});

	it("shows and changes only the calling key's own workspace", async () => {
		const a = await createWorkspace();
		const b = await createWorkspace();
		expect((await json<Workspace>(await request("/v1/workspace", { key: b.key }))).id).toBe(b.id);
		expect((await patch(b.key, { name: "B", sandbox_mode: true })).status).toBe(200);
		const seenByA = await json<Workspace>(await request("/v1/workspace", { key: a.key }));
		expect(seenByA).toMatchObject({ id: a.id, name: `Workspace ${a.id}`, sandbox_mode: false });
	});
});
