// /v1/smtp-credentials, and logging in with one at the routes the bridge calls: the password is shown
// once, sends only from the allowed domains, and stops working when revoked.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SendJob } from "../../src/domain/messages/model";
import { json, RecordingQueue, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Created = { id: string; username: string; password: string; mode: string; allowed_domains: string[] };

const basic = (user: string, pass: string) => ({ authorization: `Basic ${btoa(`${user}:${pass}`)}` });
const raw = (from: string) => btoa(`From: ${from}\r\nTo: a@x.test\r\nSubject: s\r\n\r\nHi\r\n`);

async function addDomain(workspaceId: string, name: string, status: "verified" | "pending") {
	await env.DB.prepare(
		"INSERT INTO domains (id, workspace_id, name, status, verification_token, verified_at) VALUES (?, ?, ?, ?, 'x', ?)",
	)
		.bind(`dom_${crypto.randomUUID()}`, workspaceId, name, status, status === "verified" ? Date.now() : null)
		.run();
}

async function create(key: string, body: Record<string, unknown> = { name: "CRM" }) {
	return request("/v1/smtp-credentials", { key, body });
}

async function submit(headers: Record<string, string>, from: string, queue = new RecordingQueue()) {
	const res = await request("/v1/smtp/messages", {
		headers,
		body: { mail_from: "", rcpt_to: ["a@x.test"], raw: raw(from) },
		env: { SEND_QUEUE: queue },
	});
	return { res, queue };
}

describe("/v1/smtp-credentials", () => {
	it("creates a login whose password is shown once and which sends like an API key", async () => {
		const ws = await createWorkspace({ scopes: ["smtp:manage"], mode: "live" });
		const res = await create(ws.key);
		expect(res.status).toBe(201);
		const created = await json<Created>(res);
		expect(created).toMatchObject({ mode: "live", allowed_domains: [] });
		expect(created.username).toMatch(/^smtp_[a-z0-9x]{16}$/);
		expect(created.password).toMatch(/^mq_smtp_/);

		const list = await json<{ data: Record<string, unknown>[] }>(
			await request("/v1/smtp-credentials", { key: ws.key }),
		);
		expect(list.data.map((c) => c.id)).toEqual([created.id]);
		expect(JSON.stringify(list)).not.toContain(created.password);
		const one = await json(await request(`/v1/smtp-credentials/${created.id}`, { key: ws.key }));
		expect(one).not.toHaveProperty("password");

		const auth = await request("/v1/smtp/auth", { method: "POST", headers: basic(created.username, created.password) });
		expect(auth.status).toBe(200);
		expect(await json(auth)).toMatchObject({ workspace_id: ws.id, key_id: created.id, mode: "live" });

		const { res: sent, queue } = await submit(basic(created.username, created.password), `app@${ws.domain}`);
		expect(sent.status).toBe(202);
		expect(queue.sent[0] as SendJob).toMatchObject({ workspaceId: ws.id, apiKeyId: created.id, sandbox: false });
	});

	it("refuses a wrong password or user name, and a revoked login", async () => {
		const ws = await createWorkspace({ scopes: ["smtp:manage"], mode: "live" });
		const created = await json<Created>(await create(ws.key));
		expect((await submit(basic(created.username, `${created.password}x`), `app@${ws.domain}`)).res.status).toBe(401);
		expect((await submit(basic("smtp_nobody", created.password), `app@${ws.domain}`)).res.status).toBe(401);
		expect((await submit(basic(created.username, created.password), `app@${ws.domain}`)).res.status).toBe(202);

		const revoked = await request(`/v1/smtp-credentials/${created.id}`, { key: ws.key, method: "DELETE" });
		expect(await json(revoked)).toEqual({ id: created.id, revoked: true });
		expect((await submit(basic(created.username, created.password), `app@${ws.domain}`)).res.status).toBe(401);
		const gone = await request(`/v1/smtp-credentials/${created.id}`, { key: ws.key, method: "DELETE" });
		expect(gone.status).toBe(404);
	});

	it("sends only from allowed_domains, which must be verified domains of the workspace", async () => {
		const ws = await createWorkspace({ scopes: ["smtp:manage"], mode: "live" });
		const other = `second-${ws.domain}`;
		await addDomain(ws.id, other, "pending");
		const unverified = await create(ws.key, { name: "x", allowed_domains: [other] });
		expect(unverified.status).toBe(422);
		expect((await json<{ error: { code: string } }>(unverified)).error.code).toBe("domain_not_verified");

		const created = await json<Created>(
			await create(ws.key, { name: "x", allowed_domains: [ws.domain.toUpperCase()] }),
		);
		expect(created.allowed_domains).toEqual([ws.domain]);
		expect((await submit(basic(created.username, created.password), `app@${ws.domain}`)).res.status).toBe(202);
	});

	it("limits a login to its allowed domain among several verified ones", async () => {
		const ws = await createWorkspace({ scopes: ["smtp:manage", "email:send"], mode: "live" });
		const second = `b-${ws.domain}`;
		await addDomain(ws.id, second, "verified");
		const created = await json<Created>(await create(ws.key, { name: "x", allowed_domains: [second] }));
		const refused = await submit(basic(created.username, created.password), `app@${ws.domain}`);
		expect(refused.res.status).toBe(422);
		expect(refused.queue.sent).toEqual([]);
		expect((await submit(basic(created.username, created.password), `app@${second}`)).res.status).toBe(202);
		// An API key of the same workspace may use both: the limit is the credential's.
		expect((await submit({ authorization: `Bearer ${ws.key}` }, `app@${ws.domain}`)).res.status).toBe(202);
	});

	it("accepts an API key as the Basic password, whatever the user name", async () => {
		const ws = await createWorkspace({ scopes: ["email:send"] });
		expect((await submit(basic("demo", ws.key), `app@${ws.domain}`)).res.status).toBe(202);
		expect((await submit(basic("demo", `${ws.key}x`), `app@${ws.domain}`)).res.status).toBe(401);
	});
});
