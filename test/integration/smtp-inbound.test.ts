// The Worker side of the SMTP bridge's MX mode: the RCPT check and the received message, with the
// bridge secret, answering `stored: true` only once R2 and D1 hold the message.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { failingDb } from "../helpers/delivery";
import { personalMail } from "../helpers/inbound";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const SECRET = "bridge-secret-0123456789abcdef0123456789";
const bridgeEnv = { SMTP_BRIDGE_SECRET: SECRET };

async function withRoute(match?: (domain: string) => string) {
	const ws = await createWorkspace();
	const res = await request("/v1/inbound-routes", {
		key: ws.key,
		body: { match: match ? match(ws.domain) : ws.domain },
	});
	expect(res.status).toBe(201);
	return ws;
}

function checkRecipient(recipient: string, secret = SECRET) {
	return request("/v1/smtp/inbound/recipient", {
		headers: { authorization: `Bearer ${secret}` },
		body: { mail_from: "ada@sender.test", recipient },
		env: bridgeEnv,
	});
}

function postMessage(to: string, raw: string, options: { secret?: string; env?: Record<string, unknown> } = {}) {
	return request("/v1/smtp/inbound", {
		headers: {
			authorization: `Bearer ${options.secret ?? SECRET}`,
			"content-type": "message/rfc822",
			"x-envelope-from": "ada@sender.test",
			"x-envelope-to": to,
			"x-client-ip": "203.0.113.9",
		},
		rawBody: raw,
		env: { ...bridgeEnv, ...options.env },
	});
}

describe("POST /v1/smtp/inbound/recipient", () => {
	it("accepts a routed address and refuses others with the SMTP reply to give", async () => {
		const ws = await withRoute((d) => `help@${d}`);
		expect(await json(await checkRecipient(`help@${ws.domain}`))).toEqual({ accept: true });
		expect(await json(await checkRecipient(`nobody@${ws.domain}`))).toEqual({
			accept: false,
			code: 550,
			enhanced: "5.1.1",
			message: "No such recipient here",
		});
		// A bounce address with a made-up token reads exactly like an unknown mailbox.
		const forged = await checkRecipient(`bounces+${"0".repeat(50)}@bounces.example.test`);
		expect(await json(forged)).toEqual({
			accept: false,
			code: 550,
			enhanced: "5.1.1",
			message: "No such recipient here",
		});
	});

	it("needs the bridge secret", async () => {
		const ws = await withRoute();
		const wrong = await checkRecipient(`a@${ws.domain}`, `${SECRET}x`);
		expect(wrong.status).toBe(401);
		expect((await json<{ error: { code: string } }>(wrong)).error.code).toBe("unauthorized");
	});
});

describe("POST /v1/smtp/inbound", () => {
	it("stores the message in R2 and D1 and answers its id", async () => {
		const ws = await withRoute();
		const raw = personalMail(`orders@${ws.domain}`);
		const res = await postMessage(`orders@${ws.domain}`, raw);
		expect(res.status).toBe(200);
		const body = await json<{ stored: boolean; id: string }>(res);
		expect(body.stored).toBe(true);
		const row = await env.DB.prepare("SELECT raw_key, client_ip, kind, mail_from FROM inbound_messages WHERE id = ?")
			.bind(body.id)
			.first<{ raw_key: string; client_ip: string; kind: string; mail_from: string }>();
		expect(row).toMatchObject({ client_ip: "203.0.113.9", kind: "routed", mail_from: "ada@sender.test" });
		expect(await (await env.BODIES.get(row?.raw_key ?? ""))?.text()).toBe(raw);
	});

	it("refuses a wrong secret with 401 before storing anything", async () => {
		const ws = await withRoute();
		const res = await postMessage(`orders@${ws.domain}`, personalMail(`orders@${ws.domain}`), {
			secret: "x".repeat(40),
		});
		expect(res.status).toBe(401);
		const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM inbound_messages WHERE workspace_id = ?")
			.bind(ws.id)
			.first<{ n: number }>();
		expect(n?.n).toBe(0);
	});

	it("refuses an unknown recipient with 422 mail_refused carrying the 550 reply", async () => {
		await withRoute((d) => `help@${d}`);
		const res = await postMessage("nobody@unrouted.test", personalMail("nobody@unrouted.test"));
		expect(res.status).toBe(422);
		const body = await json<{ error: { code: string; message: string } }>(res);
		expect(body.error).toMatchObject({ code: "mail_refused", message: "550 5.1.1 No such recipient here" });
	});

	it("answers 503 when storage fails, and nothing is half-written", async () => {
		const ws = await withRoute();
		const broken = {
			put: async () => {
				throw new Error("R2 unavailable");
			},
			get: async () => null,
		};
		const res = await postMessage(`orders@${ws.domain}`, personalMail(`orders@${ws.domain}`), {
			env: { BODIES: broken },
		});
		expect(res.status).toBe(503);
		expect((await json<{ error: { code: string } }>(res)).error.code).toBe("service_unavailable");
		const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM inbound_messages WHERE workspace_id = ?")
			.bind(ws.id)
			.first<{ n: number }>();
		expect(n?.n).toBe(0);
		// The bridge's retry (451 → resend) then stores it.
		expect((await postMessage(`orders@${ws.domain}`, personalMail(`orders@${ws.domain}`))).status).toBe(200);
	});

	it("answers 503 when the D1 write fails, and the retry stores it once", async () => {
		const ws = await withRoute();
		const raw = personalMail(`orders@${ws.domain}`);
		const res = await postMessage(`orders@${ws.domain}`, raw, { env: { DB: failingDb([1]) } });
		expect(res.status).toBe(503);
		const count = async () =>
			(
				await env.DB.prepare("SELECT COUNT(*) AS n FROM inbound_messages WHERE workspace_id = ?")
					.bind(ws.id)
					.first<{ n: number }>()
			)?.n;
		expect(await count()).toBe(0);
		const first = await json<{ id: string }>(await postMessage(`orders@${ws.domain}`, raw));
		const again = await json<{ id: string }>(await postMessage(`orders@${ws.domain}`, raw));
		expect(again.id).toBe(first.id);
		expect(await count()).toBe(1);
	});
});
