// POST /v1/smtp/relay: the bridge's unauthenticated relay for its trusted networks, authorized by
// SMTP_BRIDGE_SECRET and routed to the one workspace that verified the From domain.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SendJob } from "../../src/domain/messages/model";
import { json, RecordingQueue, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const SECRET = "bridge-secret-0123456789abcdef0123456789";
const raw = (from: string) => btoa(`From: ${from}\r\nTo: a@x.test\r\nSubject: s\r\n\r\nHi\r\n`);

async function relay(from: string, options: { secret?: string | undefined; configured?: string | undefined } = {}) {
	const queue = new RecordingQueue();
	const secret = "secret" in options ? options.secret : SECRET;
	const res = await request("/v1/smtp/relay", {
		headers: secret === undefined ? {} : { authorization: `Bearer ${secret}` },
		body: { mail_from: "", rcpt_to: ["a@x.test"], raw: raw(from) },
		env: { SEND_QUEUE: queue, SMTP_BRIDGE_SECRET: "configured" in options ? options.configured : SECRET },
	});
	return {
		res,
		queue,
		code: res.status === 202 ? null : (await json<{ error: { code: string } }>(res.clone())).error.code,
	};
}

describe("POST /v1/smtp/relay", () => {
	it("sends as the workspace that verified the From domain", async () => {
		const ws = await createWorkspace();
		const { res, queue } = await relay(`App <app@${ws.domain}>`);
		expect(res.status).toBe(202);
		expect(queue.sent[0] as SendJob).toMatchObject({ workspaceId: ws.id, apiKeyId: null, sandbox: false });
	});

	it("is off without SMTP_BRIDGE_SECRET, and refuses a wrong or missing secret, before reading the body", async () => {
		const ws = await createWorkspace();
		const off = await relay(`app@${ws.domain}`, { configured: undefined });
		expect([off.res.status, off.code]).toEqual([403, "forbidden"]);
		const wrong = await relay(`app@${ws.domain}`, { secret: `${SECRET}x` });
		expect([wrong.res.status, wrong.code]).toEqual([401, "unauthorized"]);
		const none = await relay(`app@${ws.domain}`, { secret: undefined });
		expect(none.res.status).toBe(401);
		for (const r of [off, wrong, none]) expect(r.queue.sent).toEqual([]);
	});

	it("refuses a domain no workspace verified, and one that two workspaces verified", async () => {
		const unknown = await relay("app@nobody-verified-this.test");
		expect([unknown.res.status, unknown.code]).toEqual([422, "domain_not_verified"]);
		const a = await createWorkspace();
		const b = await createWorkspace();
		await env.DB.prepare(
			"INSERT INTO domains (id, workspace_id, name, status, verification_token, verified_at) VALUES (?, ?, ?, 'verified', 'x', ?)",
		)
			.bind(`dom_${crypto.randomUUID()}`, b.id, a.domain, Date.now())
			.run();
		const shared = await relay(`app@${a.domain}`);
		expect([shared.res.status, shared.code]).toEqual([422, "domain_not_verified"]);
		expect(shared.queue.sent).toEqual([]);
	});
});
