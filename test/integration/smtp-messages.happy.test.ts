// POST /v1/smtp/messages: a message as an SMTP client wrote it becomes the same accepted message as
// POST /v1/emails, envelope deciding the recipients, and reaches `sent` through the real consumer.
import { describe, expect, it } from "vitest";
import type { SendJob } from "../../src/domain/messages/model";
import { json, RecordingQueue, request, runQueue } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const b64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

function mime(domain: string, extra: string[] = [], to = "Ada <ada@x.test>") {
	return [
		"Received: from client.test by bridge.test; Tue, 1 Dec 2026 08:00:00 +0000",
		`From: "Shop, Inc." <shop@${domain}>`,
		`To: ${to}`,
		"Cc: bob@y.test",
		"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=",
		`Message-ID: <m1.${domain}@client.test>`,
		"Date: Tue, 1 Dec 2026 08:00:00 +0000",
		"MIME-Version: 1.0",
		"X-Campaign: winter",
		"List-Unsubscribe: <mailto:u@shop.test>",
		...extra,
		'Content-Type: multipart/alternative; boundary="b1"',
		"",
		"--b1",
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: quoted-printable",
		"",
		"Hallo =C3=BC",
		"--b1",
		"Content-Type: text/html; charset=utf-8",
		"",
		"<p>Hallo</p>",
		"--b1--",
		"",
	].join("\r\n");
}

async function submit(key: string, raw: string, rcptTo: string[], queue = new RecordingQueue()) {
	const res = await request("/v1/smtp/messages", {
		key,
		body: { mail_from: "bounce@client.test", rcpt_to: rcptTo, raw: b64(raw) },
		env: { SEND_QUEUE: queue },
	});
	return { res, queue };
}

describe("POST /v1/smtp/messages", () => {
	it("maps the MIME and the envelope onto the send input, and the message is sent", async () => {
		const ws = await createWorkspace();
		const raw = mime(ws.domain, ["X-Tags: welcome, winter", 'X-Metadata: {"order":"42"}']);
		const { res, queue } = await submit(ws.key, raw, ["ada@x.test", "bob@Y.TEST", "carol@z.test"]);
		expect(res.status).toBe(202);
		const { id } = await json<{ id: string; status: string }>(res);
		const job = queue.sent[0] as SendJob;
		expect(job.id).toBe(id);
		expect(job.source).toBe("smtp");
		expect(job.message).toMatchObject({
			from: { email: `shop@${ws.domain}`, name: "Shop, Inc." },
			to: [{ email: "ada@x.test", name: "Ada" }],
			cc: [{ email: "bob@y.test" }],
			bcc: [{ email: "carol@z.test" }],
			subject: "Grüße",
			// The client's line break ends the part: the text is kept as sent.
			text: expect.stringMatching(/^Hallo ü\r?\n$/),
			html: expect.stringMatching(/^<p>Hallo<\/p>\r?\n$/),
			tags: ["welcome", "winter"],
			metadata: { order: "42" },
		});
		// Client headers the policy allows pass; transport, relay-written and control headers do not.
		expect(job.message?.headers).toEqual({ "X-Campaign": "winter", "List-Unsubscribe": "<mailto:u@shop.test>" });

		await runQueue("mq-send", queue.sent);
		const email = await json<{ status: string; subject: string }>(await request(`/v1/emails/${id}`, { key: ws.key }));
		expect(email).toMatchObject({ status: "sent", subject: "Grüße" });
		const content = await (await request(`/v1/emails/${id}/content`, { key: ws.key })).text();
		expect(content).toContain("X-Campaign: winter");
		expect(content).not.toMatch(/^X-(Tags|Metadata):/im);
		// Raw mode: the client's header block and body as sent, the relay's id header added on top.
		expect(content).toMatch(new RegExp(`^X-Mail-Queue-ID: ${id}\r\n`));
		expect(content).toContain(raw.replace(/X-Tags: .*\r\nX-Metadata: .*\r\n/, ""));
	});

	it("delivers only to the envelope: a header address that is not a recipient receives nothing", async () => {
		const ws = await createWorkspace();
		const { res, queue } = await submit(ws.key, mime(ws.domain, [], "ada@x.test, eve@x.test"), ["eve@x.test"]);
		expect(res.status).toBe(202);
		const job = queue.sent[0] as SendJob;
		expect(job.message).toMatchObject({ to: [{ email: "eve@x.test" }], cc: [], bcc: [] });
	});

	it("replays the same transaction (Message-ID + envelope) and accepts the same message to other recipients", async () => {
		const ws = await createWorkspace();
		const raw = mime(ws.domain);
		const queue = new RecordingQueue();
		const first = await submit(ws.key, raw, ["ada@x.test"], queue);
		const again = await submit(ws.key, raw, ["ada@x.test"], queue);
		expect(again.res.status).toBe(202);
		expect(again.res.headers.get("idempotent-replayed")).toBe("true");
		const firstId = (await json<{ id: string }>(first.res)).id;
		expect((await json<{ id: string }>(again.res)).id).toBe(firstId);
		expect(queue.sent).toHaveLength(1);

		const split = await submit(ws.key, raw, ["bob@y.test"], queue);
		expect(split.res.status).toBe(202);
		expect(split.res.headers.get("idempotent-replayed")).toBeNull();
		expect((await json<{ id: string }>(split.res)).id).not.toBe(firstId);
		expect(queue.sent).toHaveLength(2);
	});

	it("uses X-Idempotency-Key over Message-ID, and a message without either is not deduplicated", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const keyed = mime(ws.domain, ["X-Idempotency-Key: order-42"]);
		const a = await submit(ws.key, keyed, ["ada@x.test"], queue);
		const b = await submit(ws.key, keyed.replace("<m1.", "<m2."), ["ada@x.test"], queue);
		// Another Message-ID changes the body under the same key: refused, not sent twice.
		expect(a.res.status).toBe(202);
		expect(b.res.status).toBe(422);
		expect((await json<{ error: { code: string } }>(b.res)).error.code).toBe("idempotency_key_reused");

		const bare = mime(ws.domain).replace(/^Message-ID:.*\r\n/m, "");
		await submit(ws.key, bare, ["ada@x.test"], queue);
		await submit(ws.key, bare, ["ada@x.test"], queue);
		expect(queue.sent).toHaveLength(3);
	});

	it("gives a message without Subject one, and a message without a body an empty text part", async () => {
		const ws = await createWorkspace();
		const raw = `From: app@${ws.domain}\r\nTo: ada@x.test\r\n\r\n`;
		const { res, queue } = await submit(ws.key, raw, ["ada@x.test"]);
		expect(res.status).toBe(202);
		expect((queue.sent[0] as SendJob).message).toMatchObject({ subject: "(no subject)", text: "" });
	});

	it("answers POST /v1/smtp/auth with the key's workspace", async () => {
		const ws = await createWorkspace({ scopes: ["email:send"] });
		const res = await request("/v1/smtp/auth", { key: ws.key, method: "POST" });
		expect(res.status).toBe(200);
		expect(await json(res)).toEqual({ workspace_id: ws.id, key_id: ws.keyId, mode: "test", sandbox: true });
	});
});
