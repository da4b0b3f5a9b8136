// No surface answers success before the message is durable: with the send queue down, each answers
// its provider's own 5xx (the same outcome as /v1's 503), and the same request succeeds once the
// queue takes it (so the failure above can be told from a refusal).
import { describe, expect, it } from "vitest";
import { compatRequest } from "../../helpers/compat";
import { createWorkspace, type TestWorkspace } from "../../helpers/workspace";

type Surface = {
	name: string;
	path: string;
	headers: (ws: TestWorkspace) => Record<string, string>;
	body: (ws: TestWorkspace) => { body?: unknown; rawBody?: string };
	ok: number;
	down: number;
	shape: (body: unknown) => void;
};

const SURFACES: Surface[] = [
	{
		name: "Resend",
		path: "/emails",
		headers: (ws) => ({ authorization: `Bearer ${ws.key}` }),
		body: (ws) => ({ body: { from: `app@${ws.domain}`, to: "a@example.net", subject: "Hi", text: "Hi" } }),
		ok: 200,
		down: 503,
		shape: (b) => expect(b).toMatchObject({ statusCode: 503, name: "application_error" }),
	},
	{
		name: "Postmark",
		path: "/email",
		headers: (ws) => ({ "x-postmark-server-token": ws.key }),
		body: (ws) => ({ body: { From: `app@${ws.domain}`, To: "a@example.net", Subject: "Hi", TextBody: "Hi" } }),
		ok: 200,
		down: 503,
		shape: (b) => expect(b).toMatchObject({ ErrorCode: 0 }),
	},
	{
		name: "SendGrid",
		path: "/v3/mail/send",
		headers: (ws) => ({ authorization: `Bearer ${ws.key}` }),
		body: (ws) => ({
			body: {
				personalizations: [{ to: [{ email: "a@example.net" }] }, { to: [{ email: "b@example.net" }] }],
				from: { email: `app@${ws.domain}` },
				subject: "Hi",
				content: [{ type: "text/plain", value: "Hi" }],
			},
		}),
		ok: 202,
		down: 503,
		shape: (b) => expect(b).toMatchObject({ errors: [{ field: null, help: null }] }),
	},
	{
		name: "Mailgun",
		path: "/v3/{domain}/messages",
		headers: (ws) => ({
			authorization: `Basic ${btoa(`api:${ws.key}`)}`,
			"content-type": "application/x-www-form-urlencoded",
		}),
		body: (ws) => ({
			rawBody: new URLSearchParams({
				from: `app@${ws.domain}`,
				to: "a@example.net",
				subject: "Hi",
				text: "Hi",
			}).toString(),
		}),
		ok: 200,
		down: 503,
		shape: (b) => expect(b).toHaveProperty("message"),
	},
	{
		name: "Mandrill",
		path: "/api/1.0/messages/send.json",
		headers: () => ({}),
		body: (ws) => ({
			body: {
				key: ws.key,
				message: { from_email: `app@${ws.domain}`, subject: "Hi", text: "Hi", to: [{ email: "a@example.net" }] },
			},
		}),
		ok: 200,
		down: 500,
		shape: (b) => expect(b).toMatchObject({ status: "error", name: "GeneralError" }),
	},
];

describe("compat surfaces with the send queue down", () => {
	for (const s of SURFACES) {
		it(`${s.name}: answers its own 5xx and enqueues nothing, then succeeds once the queue is back`, async () => {
			const ws = await createWorkspace();
			const path = s.path.replace("{domain}", ws.domain);
			const down = await compatRequest(path, {
				headers: s.headers(ws),
				...s.body(ws),
				failure: new Error("queue down"),
			});
			expect(down.res.status).toBe(s.down);
			s.shape(await down.res.json());
			expect(down.jobs).toHaveLength(0);
			const up = await compatRequest(path, { headers: s.headers(ws), ...s.body(ws) });
			expect(up.res.status).toBe(s.ok);
			expect(up.jobs.length).toBeGreaterThan(0);
		});
	}
});
