// The platform API as an operator uses it: a workspace created with one call sends mail with the key
// it printed; listing pages and filters; changes, suspension with its mail held and released, keys
// created for a workspace, and the audit log of all of it.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	type CreatedWorkspace,
	createViaPlatform,
	type PlatformWorkspace,
	platform,
	uniqueSlug,
} from "../helpers/platform";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";

type Page = { data: PlatformWorkspace[]; has_more: boolean; next_cursor: string | null };

async function send(key: string, domain: string, queue: RecordingQueue, to = "a@x.test") {
	const res = await request("/v1/emails", {
		key,
		body: sampleEmail(domain, { to: [to] }),
		env: { SEND_QUEUE: queue },
	});
	expect(res.status).toBe(202);
	return (await json<{ id: string }>(res)).id;
}

async function status(key: string, id: string) {
	return (await json<{ status: string }>(await request(`/v1/emails/${id}`, { key }))).status;
}

describe("creating a workspace", () => {
	it("answers 201 with the workspace and a live admin key that sends mail", async () => {
		const slug = uniqueSlug();
		const res = await platform("/v1/platform/workspaces", {
			body: { slug, name: "Acme Inc", sandbox_mode: true, limits: { daily: 5000 } },
		});
		expect(res.status).toBe(201);
		const created = await json<CreatedWorkspace>(res);
		expect(created.workspace).toMatchObject({
			slug,
			name: "Acme Inc",
			status: "active",
			sandbox_mode: true,
			limits: { daily: 5000, monthly: null, per_sender_daily: null },
			deletion: null,
		});
		expect(created.api_key.key).toMatch(/^mq_live_[A-Za-z0-9_-]{43}$/);
		expect(created.api_key.scopes).toEqual(["admin"]);
		const stored = await env.DB.prepare("SELECT key_hash FROM api_keys WHERE id = ?")
			.bind(created.api_key.id)
			.first<{ key_hash: string }>();
		expect(stored?.key_hash).not.toContain(created.api_key.key);

		// The printed key is the workspace's admin: it adds a domain and sends through it.
		const key = created.api_key.key;
		const domain = await request("/v1/domains", { key, body: { name: `${slug}.mailqueue-tests.net` } });
		expect(domain.status).toBe(201);
		await env.DB.prepare("UPDATE domains SET status = 'verified', verified_at = ? WHERE workspace_id = ?")
			.bind(Date.now(), created.workspace.id)
			.run();
		const queue = new RecordingQueue();
		const id = await send(key, `${slug}.mailqueue-tests.net`, queue);
		await runQueue("mq-send", queue.sent, { SEND_QUEUE: new RecordingQueue() });
		expect(await status(key, id)).toBe("sent");
	});

	it("refuses a taken slug with 409 and a malformed one with 422, creating nothing", async () => {
		const { workspace } = await createViaPlatform();
		const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM workspaces").first<{ n: number }>();
		const taken = await platform("/v1/platform/workspaces", { body: { slug: workspace.slug } });
		expect(taken.status).toBe(409);
		expect((await json<{ error: { code: string } }>(taken)).error.code).toBe("conflict");
		for (const slug of ["Acme", "-acme", "acme_1", "", "a".repeat(64)]) {
			expect((await platform("/v1/platform/workspaces", { body: { slug } })).status, slug).toBe(422);
		}
		expect((await platform("/v1/platform/workspaces", { body: { slug: uniqueSlug(), plan: "x" } })).status).toBe(422);
		const after = await env.DB.prepare("SELECT COUNT(*) AS n FROM workspaces").first<{ n: number }>();
		expect(after?.n).toBe(before?.n);
	});
});

describe("listing and reading workspaces", () => {
	it("pages newest first with a cursor, and filters by status and by slug or name prefix", async () => {
		const base = uniqueSlug("list");
		const made: PlatformWorkspace[] = [];
		for (let i = 0; i < 3; i++)
			made.push((await createViaPlatform({ slug: `${base}-${i}`, name: `Team ${i}` })).workspace);
		const first = await json<Page>(await platform(`/v1/platform/workspaces?q=${base}&limit=2`));
		expect(first.data.map((w) => w.slug)).toEqual([`${base}-2`, `${base}-1`]);
		expect(first.has_more).toBe(true);
		const second = await json<Page>(
			await platform(`/v1/platform/workspaces?q=${base}&limit=2&cursor=${first.next_cursor ?? ""}`),
		);
		expect(second).toMatchObject({ has_more: false, next_cursor: null });
		expect(second.data.map((w) => w.slug)).toEqual([`${base}-0`]);

		await platform(`/v1/platform/workspaces/${made[1]?.id}`, { method: "PATCH", body: { suspended: true } });
		const suspended = await json<Page>(await platform(`/v1/platform/workspaces?q=${base}&status=suspended`));
		expect(suspended.data.map((w) => w.slug)).toEqual([`${base}-1`]);
		const active = await json<Page>(await platform(`/v1/platform/workspaces?q=${base}&status=active`));
		expect(active.data.map((w) => w.slug)).toEqual([`${base}-2`, `${base}-0`]);
		// A LIKE wildcard in q is a literal character, not "anything".
		expect((await json<Page>(await platform(`/v1/platform/workspaces?q=${base.slice(0, 4)}%25-1`))).data).toEqual([]);
		expect((await platform("/v1/platform/workspaces?status=gone")).status).toBe(422);
	});

	it("gets a workspace by id or by slug, and 404s an unknown one", async () => {
		const { workspace } = await createViaPlatform();
		for (const ref of [workspace.id, workspace.slug]) {
			const res = await platform(`/v1/platform/workspaces/${ref}`);
			expect(res.status).toBe(200);
			expect((await json<PlatformWorkspace>(res)).id).toBe(workspace.id);
		}
		const missing = await platform("/v1/platform/workspaces/ws_nope");
		expect(missing.status).toBe(404);
	});
});

describe("changing a workspace", () => {
	it("changes name, sandbox mode and limits, and rejects unknown fields", async () => {
		const { workspace } = await createViaPlatform({ limits: { daily: 10, monthly: 100 } });
		const res = await platform(`/v1/platform/workspaces/${workspace.id}`, {
			method: "PATCH",
			body: { name: "Renamed", sandbox_mode: true, limits: { daily: null, per_sender_daily: 50 } },
		});
		expect(res.status).toBe(200);
		expect(await json<PlatformWorkspace>(res)).toMatchObject({
			name: "Renamed",
			sandbox_mode: true,
			limits: { daily: null, monthly: 100, per_sender_daily: 50 },
		});
		for (const body of [{ status: "suspended" }, { limits: { hourly: 1 } }, { limits: { daily: -1 } }, { name: "" }]) {
			const bad = await platform(`/v1/platform/workspaces/${workspace.id}`, { method: "PATCH", body });
			expect(bad.status, JSON.stringify(body)).toBe(422);
		}
	});

	it("suspends: keys answer 403 workspace_suspended and queued mail is held; resuming sends all of it", async () => {
		const { workspace, api_key, domain } = await createViaPlatform({ sandbox_mode: true });
		const accepted = new RecordingQueue();
		const ids = [
			await send(api_key.key, domain, accepted, "one@x.test"),
			await send(api_key.key, domain, accepted, "two@x.test"),
		];

		const suspend = await platform(`/v1/platform/workspaces/${workspace.slug}`, {
			method: "PATCH",
			body: { suspended: true },
		});
		expect(await json<PlatformWorkspace>(suspend)).toMatchObject({ status: "suspended" });
		const refused = await request("/v1/emails", { key: api_key.key, body: sampleEmail(domain) });
		expect(refused.status).toBe(403);
		expect((await json<{ error: { code: string; message: string } }>(refused)).error).toMatchObject({
			code: "workspace_suspended",
			message: expect.stringMatching(/suspended/),
		});

		// The consumer sees the accepted jobs while the workspace is suspended: held, none sent.
		const held = new RecordingQueue();
		await runQueue("mq-send", accepted.sent, { SEND_QUEUE: held });
		expect(held.sent).toHaveLength(2);
		const rows = await env.DB.prepare("SELECT status FROM messages WHERE workspace_id = ?")
			.bind(workspace.id)
			.all<{ status: string }>();
		expect(rows.results.map((r) => r.status)).toEqual(["queued", "queued"]);

		const resume = await platform(`/v1/platform/workspaces/${workspace.id}`, {
			method: "PATCH",
			body: { suspended: false },
		});
		expect(await json<PlatformWorkspace>(resume)).toMatchObject({ status: "active" });
		await runQueue("mq-send", held.sent, { SEND_QUEUE: new RecordingQueue() });
		for (const id of ids) expect(await status(api_key.key, id)).toBe("sent");
	});
});

describe("keys and the audit log", () => {
	it("creates a key in a workspace, shown once, that works as its scopes say", async () => {
		const { workspace, domain } = await createViaPlatform({ sandbox_mode: true });
		const res = await platform(`/v1/platform/workspaces/${workspace.slug}/api-keys`, {
			body: { name: "CI sender", scopes: ["email:send"] },
		});
		expect(res.status).toBe(201);
		const key = await json<{ key: string; mode: string; scopes: string[] }>(res);
		expect(key).toMatchObject({ mode: "live", scopes: ["email:send"] });
		expect((await request("/v1/emails", { key: key.key, body: sampleEmail(domain) })).status).toBe(202);
		expect((await request("/v1/api-keys", { key: key.key })).status).toBe(403);
		// No body: a live admin key.
		const admin = await json<{ scopes: string[] }>(
			await platform(`/v1/platform/workspaces/${workspace.id}/api-keys`, { method: "POST" }),
		);
		expect(admin.scopes).toEqual(["admin"]);
	});

	it("records every platform change in the workspace's audit log, with where it came from", async () => {
		const { workspace } = await createViaPlatform();
		const headers = { "cf-connecting-ip": "203.0.113.9", "user-agent": "mail-queue-admin/test" };
		await platform(`/v1/platform/workspaces/${workspace.id}`, { method: "PATCH", body: { name: "X" }, headers });
		await platform(`/v1/platform/workspaces/${workspace.id}`, { method: "PATCH", body: { suspended: true }, headers });
		await platform(`/v1/platform/workspaces/${workspace.id}`, { method: "PATCH", body: { suspended: false } });
		await platform(`/v1/platform/workspaces/${workspace.id}/api-keys`, { method: "POST" });
		// A refused change is not in the log.
		await platform(`/v1/platform/workspaces/${workspace.id}`, { method: "PATCH", body: { name: "" } });
		const { results } = await env.DB.prepare(
			"SELECT actor_type, action, ip, user_agent, changes FROM audit_logs WHERE workspace_id = ? ORDER BY created_at, rowid",
		)
			.bind(workspace.id)
			.all<{ actor_type: string; action: string; ip: string | null; user_agent: string | null; changes: string }>();
		expect(results.map((r) => r.action)).toEqual([
			"workspace.created",
			"workspace.updated",
			"workspace.suspended",
			"workspace.resumed",
			"api_key.created",
		]);
		expect(results.every((r) => r.actor_type === "platform")).toBe(true);
		expect(results[1]).toMatchObject({ ip: "203.0.113.9", user_agent: "mail-queue-admin/test" });
		expect(JSON.parse(results[1]?.changes ?? "{}")).toEqual({ name: "X" });
	});
});
