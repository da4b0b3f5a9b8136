// Issue 10 gaps on POST /v1/smtp/messages and /relay: the client's MIME is delivered as sent (raw
// mode: body bytes untouched, control headers and Bcc stripped, the relay's headers added), X-Queue
// and X-User-ID applied like `queue` and the sender key of POST /v1/emails, and the client's IP taken
// from the bridge (only beside the bridge secret), recorded and used for the key's IP allowlist.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AcceptedMessage, SendJob } from "../../src/domain/messages/model";
import { json, RecordingQueue, request, runQueue } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const SECRET = "raw-test-bridge-secret-0123456789abcdef";
const bytesB64 = (bytes: Uint8Array) => {
	let text = "";
	for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
	return btoa(text);
};
const b64 = (text: string) => bytesB64(new TextEncoder().encode(text));

const QP_LONG = `${"Sehr geehrte Kundin, vielen Dank f=C3=BCr Ihre Bestellung ".repeat(2).slice(0, 75)}=`;
const ATTACHMENT = bytesB64(Uint8Array.from({ length: 600 }, (_, i) => (i * 37) % 256));

/**
 * What a real client writes, with what a re-render would change: a boundary of odd characters, a
 * quoted-printable part with soft breaks and a 900-octet line, base64 lines of 72 (not 76), a
 * preamble and epilogue, header folding, and every control header plus Bcc.
 */
function clientMime(domain: string, extra: string[] = [], body = "") {
	const boundary = "=_+_odd.b'(o)u:n,d?a=ry_/-0";
	return [
		`From: "Shop" <shop@${domain}>`,
		"To: Ada <ada@x.test>",
		"Bcc: secret@z.test",
		"Subject: Your order",
		"  folded onto a second line",
		`Message-ID: <raw.1.${domain}@client.test>`,
		"Date: Tue, 1 Dec 2026 08:00:00 +0100",
		"MIME-Version: 1.0",
		"X-Tags: orders",
		'X-Metadata: {"order":"42"}',
		"X-Idempotency-Key: raw-order-42",
		"X-Campaign: autumn",
		...extra,
		`Content-Type: multipart/mixed;\r\n boundary="${boundary}"`,
		"",
		"This is a preamble a re-encoder would drop.",
		`--${boundary}`,
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: quoted-printable",
		"",
		QP_LONG,
		"Zeile zwei=20",
		"x".repeat(900),
		body,
		`--${boundary}`,
		'Content-Type: application/octet-stream; name="data.bin"',
		"Content-Transfer-Encoding: base64",
		'Content-Disposition: attachment; filename="data.bin"',
		"",
		...(ATTACHMENT.match(/.{1,72}/g) ?? []),
		`--${boundary}--`,
		"epilogue",
		"",
	].join("\r\n");
}

type Extra = { headers?: Record<string, string>; env?: Record<string, unknown>; rcptTo?: string[] };

async function submit(key: string, raw: string, extra: Extra = {}) {
	const queue = new RecordingQueue();
	const res = await request("/v1/smtp/messages", {
		key,
		body: { mail_from: "bounce@client.test", rcpt_to: extra.rcptTo ?? ["ada@x.test", "secret@z.test"], raw: b64(raw) },
		...(extra.headers ? { headers: extra.headers } : {}),
		env: { SEND_QUEUE: queue, SMTP_BRIDGE_SECRET: SECRET, ...extra.env },
	});
	return { res, queue };
}

const headBody = (mime: string) => {
	const end = mime.indexOf("\r\n\r\n");
	return { head: mime.slice(0, end + 2), body: mime.slice(end + 2) };
};

async function captured(key: string, queue: RecordingQueue, id: string): Promise<string> {
	await runQueue("mq-send", queue.sent);
	const email = await json<{ status: string }>(await request(`/v1/emails/${id}`, { key }));
	expect(email.status).toBe("sent");
	return (await request(`/v1/emails/${id}/content`, { key })).text();
}

describe("raw mode: the client's MIME as sent", () => {
	it("delivers the client's body byte for byte and its headers minus the control headers and Bcc", async () => {
		const ws = await createWorkspace();
		const raw = clientMime(ws.domain);
		const { res, queue } = await submit(ws.key, raw);
		expect(res.status).toBe(202);
		const { id } = await json<{ id: string }>(res);
		const job = queue.sent[0] as SendJob;
		// A message with files always keeps its content in R2, the raw text with it.
		const stored = await (await env.BODIES.get(job.contentKey ?? ""))?.json<AcceptedMessage>();
		expect(stored?.raw).toBe(raw);
		const mime = await captured(ws.key, queue, id);
		const sent = headBody(mime);
		const client = headBody(raw);
		expect(sent.body).toBe(client.body);
		// Every client header line that is not stripped, in order and unfolded-as-sent.
		const kept = client.head
			.split(/\r\n(?![ \t])/)
			.filter((f) => f && !/^(X-Tags|X-Metadata|X-Idempotency-Key|Bcc):/i.test(f));
		expect(sent.head).toContain(`${kept.join("\r\n")}\r\n`);
		expect(sent.head).toMatch(new RegExp(`^X-Mail-Queue-ID: ${id}\\r\\n`));
		expect(sent.head).not.toMatch(/^(X-Tags|X-Metadata|X-Idempotency-Key|X-Queue|X-User-ID|Bcc):/im);
		expect(mime).not.toContain("secret@z.test");
		// The client's Message-ID and Date are kept, not replaced by the relay's.
		expect(sent.head.match(/^Message-ID:/gim)).toHaveLength(1);
		expect(sent.head.match(/^Date:/gim)).toHaveLength(1);
		// The parsed fields the API gateways use still describe the same message.
		expect(stored).toMatchObject({
			subject: expect.stringMatching(/^Your order\s+folded onto a second line$/),
			tags: ["orders"],
		});
		expect(stored?.bcc).toEqual([{ email: "secret@z.test" }]);
		expect(stored?.attachments?.[0]).toMatchObject({ filename: "data.bin", content: ATTACHMENT });
	});

	it("keeps large raw messages in R2 (content key) and still delivers them byte for byte", async () => {
		const ws = await createWorkspace();
		const raw = clientMime(
			ws.domain,
			[],
			Array.from({ length: 2000 }, (_, i) => `line ${i} ${"y".repeat(70)}`).join("\r\n"),
		);
		const { res, queue } = await submit(ws.key, raw);
		expect(res.status).toBe(202);
		const { id } = await json<{ id: string }>(res);
		const job = queue.sent[0] as SendJob;
		expect(job.message).toBeUndefined();
		const stored = await (await env.BODIES.get(job.contentKey ?? ""))?.json<{ raw: string }>();
		expect(stored?.raw).toBe(raw);
		expect(headBody(await captured(ws.key, queue, id)).body).toBe(headBody(raw).body);
	});

	it("adds Message-ID and Date only when the client sent none", async () => {
		const ws = await createWorkspace();
		const raw = clientMime(ws.domain)
			.replace(/^Message-ID:.*\r\n/m, "")
			.replace(/^Date:.*\r\n/m, "");
		const { res, queue } = await submit(ws.key, raw);
		const { id } = await json<{ id: string }>(res);
		const mime = await captured(ws.key, queue, id);
		expect(mime).toMatch(new RegExp(`^Message-ID: <${id.toLowerCase()}@${ws.domain}>\\r$`, "m"));
		expect(mime).toMatch(/^Date: .+ \+0000\r$/m);
		expect(headBody(mime).body).toBe(headBody(raw).body);
	});
});

describe("X-Queue and X-User-ID", () => {
	it("sends to the named queue X-Queue names, and refuses an unknown one like POST /v1/emails", async () => {
		const ws = await createWorkspace();
		const made = await request("/v1/queues", { key: ws.key, body: { name: "bulk" } });
		expect(made.status).toBe(201);
		const bulk = await json<{ id: string }>(made);
		const { res, queue } = await submit(ws.key, clientMime(ws.domain, ["X-Queue: bulk"]));
		expect(res.status).toBe(202);
		expect((queue.sent[0] as SendJob).queueId).toBe(bulk.id);
		// Without the header: the default queue.
		const plain = await submit(ws.key, clientMime(ws.domain).replace("raw-order-42", "raw-order-43"));
		expect((plain.queue.sent[0] as SendJob).queueId).toBe(`q_default_${ws.id}`);
		const unknown = await submit(ws.key, clientMime(ws.domain, ["X-Queue: nope"]).replace("raw-order-42", "raw-o-44"));
		expect(unknown.res.status).toBe(422);
		expect((await json<{ error: { message: string } }>(unknown.res)).error.message).toMatch(/queue: no queue "nope"/);
	});

	it("counts X-User-ID as the sender of a hard sender limit, not the From address", async () => {
		const ws = await createWorkspace();
		const put = await request("/v1/rate-limits", {
			key: ws.key,
			method: "PUT",
			body: { limits: [{ scope: "sender", key: "user-7", window: "day", limit: 1, kind: "hard" }] },
		});
		expect(put.status).toBe(200);
		const as = (user: string, n: number) =>
			submit(ws.key, clientMime(ws.domain, [`X-User-ID: ${user}`]).replace("raw-order-42", `raw-${user}-${n}`));
		const first = await as("user-7", 1);
		expect(first.res.status).toBe(202);
		// The consumer counts the send; then the HTTP path refuses the next one synchronously.
		await runQueue("mq-send", first.queue.sent, { SEND_QUEUE: new RecordingQueue() });
		const second = await as("USER-7", 2);
		expect(second.res.status).toBe(429);
		expect((await json<{ error: { code: string } }>(second.res)).error.code).toBe("rate_limited");
		// Same From address, another user: not limited, so the limit counted the X-User-ID.
		const other = await as("user-8", 1);
		expect(other.res.status).toBe(202);
		const job = other.queue.sent[0] as SendJob;
		const stored = await (await env.BODIES.get(job.contentKey ?? ""))?.json<AcceptedMessage>();
		expect(stored?.headers["X-User-ID"]).toBe("user-8");
	});
});

describe("the client's IP from the bridge", () => {
	const bridged = (ip: string, secret = SECRET) => ({
		"x-client-ip": ip,
		"x-bridge-authorization": `Bearer ${secret}`,
	});

	it("records X-Client-IP beside the bridge secret as client_ip, and ignores it without", async () => {
		const ws = await createWorkspace();
		const { res, queue } = await submit(ws.key, clientMime(ws.domain), { headers: bridged("::ffff:203.0.113.9") });
		expect(res.status).toBe(202);
		const { id } = await json<{ id: string }>(res);
		expect((queue.sent[0] as SendJob).clientIp).toBe("203.0.113.9");
		await runQueue("mq-send", queue.sent);
		const email = await json<{ client_ip: string | null; source: string }>(
			await request(`/v1/emails/${id}`, { key: ws.key }),
		);
		expect(email).toMatchObject({ client_ip: "203.0.113.9", source: "smtp" });

		for (const headers of [
			{ "x-client-ip": "203.0.113.9" },
			bridged("203.0.113.9", "wrong-secret-0123456789abcdef0123"),
		]) {
			const raw = clientMime(ws.domain).replace("raw-order-42", `raw-${Object.keys(headers).length}`);
			const untrusted = await submit(ws.key, raw, { headers });
			expect(untrusted.res.status).toBe(202);
			expect((untrusted.queue.sent[0] as SendJob).clientIp).toBeUndefined();
		}
	});

	it("checks a key's IP allowlist against the SMTP client the bridge reports", async () => {
		const ws = await createWorkspace({ ipAllowlist: ["203.0.113.0/24"] });
		const raw = (n: number) => clientMime(ws.domain).replace("raw-order-42", `raw-ip-${n}`);
		expect((await submit(ws.key, raw(1), { headers: bridged("203.0.113.7") })).res.status).toBe(202);
		expect((await submit(ws.key, raw(2), { headers: bridged("198.51.100.1") })).res.status).toBe(403);
		// Claimed without the secret: not believed, so the key's allowlist refuses.
		expect((await submit(ws.key, raw(3), { headers: { "x-client-ip": "203.0.113.7" } })).res.status).toBe(403);
		const auth = await request("/v1/smtp/auth", {
			key: ws.key,
			body: {},
			headers: bridged("198.51.100.1"),
			env: { SMTP_BRIDGE_SECRET: SECRET },
		});
		expect(auth.status).toBe(403);
	});

	it("takes X-Client-IP on the relay (the bridge secret is its authorization) and applies X-Queue there", async () => {
		const ws = await createWorkspace();
		const made = await request("/v1/queues", { key: ws.key, body: { name: "relayed" } });
		const relayedQueue = await json<{ id: string }>(made);
		const queue = new RecordingQueue();
		const res = await request("/v1/smtp/relay", {
			headers: { authorization: `Bearer ${SECRET}`, "x-client-ip": "10.1.2.3" },
			body: {
				mail_from: "app@client.test",
				rcpt_to: ["ada@x.test"],
				raw: b64(clientMime(ws.domain, ["X-Queue: relayed"])),
			},
			env: { SEND_QUEUE: queue, SMTP_BRIDGE_SECRET: SECRET },
		});
		expect(res.status).toBe(202);
		expect(queue.sent[0]).toMatchObject({ clientIp: "10.1.2.3", source: "smtp", queueId: relayedQueue.id });
	});
});
