// MX mode (issue 10 item 5) against the stand-in Worker's /v1/smtp/inbound[/recipient] (the MX
// contract): no AUTH, recipients asked of the Worker at RCPT TO, the raw message posted after DATA
// and 250 only for {"stored": true}; the submission listener's protections on this port too.
import nodemailer from "nodemailer";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge.js";
import {
	authPlain,
	BRIDGE_SECRET,
	defaultWorker,
	type FakeWorker,
	fakeWorker,
	KEY,
	RawSmtp,
	refusal,
	testBridge,
} from "./helpers.js";

const BOUNCE = "bounces+abc123@bounces.example.test";
const RAW = [
	"From: Mailer-Daemon <mailer-daemon@mx.remote.test>",
	"To: <bounces+abc123@bounces.example.test>",
	"Subject: Undelivered Mail Returned to Sender",
	"Message-ID: <dsn1@mx.remote.test>",
	"Content-Type: text/plain; charset=utf-8",
	"",
	"The mail system could not deliver your message.",
	"..a line that started with a dot",
	"",
].join("\r\n");

let worker: FakeWorker;
const bridges: Bridge[] = [];

beforeAll(async () => {
	worker = await fakeWorker();
});
afterAll(async () => {
	await Promise.all(bridges.map((b) => b.close()));
	await worker.close();
});
afterEach(() => {
	worker.set(defaultWorker);
	worker.calls.length = 0;
});

async function mxBridge(env: Record<string, string> = {}): Promise<Bridge> {
	const b = await testBridge(worker.url, { MX_PORT: "0", BRIDGE_SECRET, WORKER_TIMEOUT_MS: "500", ...env });
	bridges.push(b);
	return b;
}

const mxPort = (b: Bridge) => b.listeners.find((l) => l.mode === "mx")?.address.port ?? 0;

async function greeted(port: number): Promise<RawSmtp> {
	const c = await RawSmtp.open(port);
	expect(await c.reply()).toMatch(/^220 /);
	expect(await c.command("EHLO mx.remote.test")).toMatch(/^250/);
	return c;
}

/** One transaction in a raw session; resolves with the reply to the end of DATA. */
async function deliver(c: RawSmtp, rcpt = BOUNCE, body = RAW): Promise<string> {
	expect(await c.command("MAIL FROM:<>")).toMatch(/^250 /);
	expect(await c.command(`RCPT TO:<${rcpt}>`)).toMatch(/^250 /);
	expect(await c.command("DATA")).toMatch(/^354 /);
	return c.command(`${body.replace(/^\./gm, "..")}.`);
}

const metricsOf = async (b: Bridge) => (await fetch(`http://127.0.0.1:${b.healthPort}/metrics`)).text();

describe("MX listener", () => {
	let bridge: Bridge;
	beforeAll(async () => {
		bridge = await mxBridge();
	});

	it("listens beside the submission ports, offers STARTTLS and SIZE, and neither advertises nor takes AUTH", async () => {
		expect(bridge.listeners.map((l) => l.mode)).toEqual(["starttls", "tls", "mx"]);
		const c = await RawSmtp.open(mxPort(bridge));
		expect(await c.reply()).toMatch(/^220 .*Mail Queue MX/);
		const ehlo = await c.command("EHLO mx.remote.test");
		expect(ehlo).toContain("STARTTLS");
		expect(ehlo).toMatch(/SIZE \d+/);
		expect(ehlo).not.toContain("AUTH");
		expect(await c.command(`AUTH PLAIN ${authPlain("demo", KEY)}`)).toMatch(/^5\d\d /);
		// The submission port of the same bridge does take it: the difference is the listener.
		const s = await RawSmtp.open(bridge.listeners[0]?.address.port ?? 0);
		await s.reply();
		expect(await s.command("EHLO client.test")).toContain("AUTH PLAIN LOGIN");
		c.close();
		s.close();
	});

	it("takes a bounce without AUTH: the Worker gets the exact bytes, the envelope and the client IP; 250 only after stored", async () => {
		const c = await greeted(mxPort(bridge));
		const reply = await deliver(c);
		expect(reply).toMatch(/^250 2\.0\.0 Ok: stored as in_/);
		c.close();
		const check = worker.recipientChecks()[0];
		expect(check?.authorization).toBe(`Bearer ${BRIDGE_SECRET}`);
		expect(check?.body).toEqual({ mail_from: "", recipient: BOUNCE });
		const call = worker.inbound()[0];
		expect(call?.authorization).toBe(`Bearer ${BRIDGE_SECRET}`);
		expect(call?.headers["content-type"]).toBe("message/rfc822");
		expect(call?.headers["x-envelope-from"]).toBe("");
		expect(call?.headers["x-envelope-to"]).toBe(BOUNCE);
		expect(call?.headers["x-client-ip"]).toMatch(/127\.0\.0\.1$/);
		// Dot-stuffing undone, nothing else touched.
		expect(call?.bytes.toString("utf8")).toBe(RAW);
	});

	it("refuses a recipient the Worker does not accept with its 550 5.1.1: never an open relay", async () => {
		const c = await greeted(mxPort(bridge));
		expect(await c.command("MAIL FROM:<spammer@remote.test>")).toMatch(/^250 /);
		expect(await c.command("RCPT TO:<victim@gmail.test>")).toMatch(/^550 5\.1\.1 No such recipient here/);
		expect(await c.command("RCPT TO:<team@inbound.example.test>")).toMatch(/^250 /);
		expect(await c.command("RCPT TO:<bounces+zzz@other.test>")).toMatch(/^550 5\.1\.1/);
		expect(await c.command("DATA")).toMatch(/^354 /);
		expect(await c.command(`${RAW}.`)).toMatch(/^250 /);
		c.close();
		expect(worker.inbound()).toHaveLength(1);
		expect(worker.inbound()[0]?.headers["x-envelope-to"]).toBe("team@inbound.example.test");
		expect(worker.inbound()[0]?.headers["x-envelope-from"]).toBe("spammer@remote.test");
	});

	it("caches the Worker's answer per (MAIL FROM, RCPT TO) briefly, refusals too", async () => {
		for (let i = 0; i < 3; i++) {
			const c = await greeted(mxPort(bridge));
			await c.command("MAIL FROM:<a@remote.test>");
			expect(await c.command("RCPT TO:<cached@inbound.example.test>")).toMatch(/^250 /);
			expect(await c.command("RCPT TO:<nobody@remote.test>")).toMatch(/^550 /);
			c.close();
		}
		expect(worker.recipientChecks()).toHaveLength(2);
		// With the cache off, every RCPT asks: so the cache is what saved the calls above.
		const uncached = await mxBridge({ MX_RECIPIENT_CACHE_MS: "0" });
		for (let i = 0; i < 2; i++) {
			const c = await greeted(mxPort(uncached));
			await c.command("MAIL FROM:<a@remote.test>");
			expect(await c.command("RCPT TO:<cached@inbound.example.test>")).toMatch(/^250 /);
			c.close();
		}
		expect(worker.recipientChecks()).toHaveLength(4);
	});

	it("passes the Worker's 5.7.1 refusal through, and answers 451 at RCPT when the Worker cannot answer", async () => {
		worker.set((call) =>
			call.path === "/v1/smtp/inbound/recipient"
				? {
						status: 200,
						body: { accept: false, code: 550, enhanced: "5.7.1", message: "Domain not verified\r\n250 ok" },
					}
				: defaultWorker(call),
		);
		const c = await greeted(mxPort(bridge));
		await c.command("MAIL FROM:<a@remote.test>");
		// A CR/LF in the Worker's message cannot end the reply line early.
		expect(await c.command("RCPT TO:<x1@unverified.test>")).toBe("550 5.7.1 Domain not verified 250 ok");
		worker.set((call) => (call.path === "/v1/smtp/inbound/recipient" ? "reset" : defaultWorker(call)));
		expect(await c.command("RCPT TO:<x2@inbound.example.test>")).toMatch(/^451 4\.3\.0/);
		worker.set((call) => (call.path === "/v1/smtp/inbound/recipient" ? "hang" : defaultWorker(call)));
		expect(await c.command("RCPT TO:<x3@inbound.example.test>")).toMatch(/^451 4\.3\.0/);
		worker.set((call) =>
			call.path === "/v1/smtp/inbound/recipient" ? refusal(503, "service_unavailable") : defaultWorker(call),
		);
		expect(await c.command("RCPT TO:<x4@inbound.example.test>")).toMatch(/^451 4\.3\.0/);
		// Failures are not cached: the Worker back, the same recipient is accepted.
		worker.set(defaultWorker);
		expect(await c.command("RCPT TO:<x4@inbound.example.test>")).toMatch(/^250 /);
		c.close();
	});

	const dataCases: { name: string; reply: Parameters<FakeWorker["set"]>[0]; code: RegExp }[] = [
		{ name: "a 5xx", reply: () => refusal(500, "internal_error"), code: /^451 4\.3\.0/ },
		{ name: "a timeout", reply: () => "hang", code: /^451 4\.3\.0/ },
		{ name: "a dropped connection", reply: () => "reset", code: /^451 4\.3\.0/ },
		{ name: "a 2xx without stored: true", reply: () => ({ status: 200, body: { stored: false } }), code: /^451 / },
		{ name: "a 401 (the bridge's secret)", reply: () => refusal(401, "unauthorized"), code: /^451 / },
		{
			name: "a 4xx refusal",
			reply: () => refusal(422, "validation_error", "Not a message"),
			code: /^550 5\.6\.0 Not a message/,
		},
		{ name: "a 403 domain refusal", reply: () => refusal(404, "not_found", "No route"), code: /^550 5\.7\.1 No route/ },
		{ name: "a 413", reply: () => refusal(413, "payload_too_large"), code: /^552 / },
	];
	it.each(dataCases)("answers $name on the message with the right code", async ({ reply, code }) => {
		worker.set((call) => (call.path === "/v1/smtp/inbound" ? reply(call) : defaultWorker(call)));
		const c = await greeted(mxPort(bridge));
		expect(await deliver(c)).toMatch(code);
		c.close();
	});

	it("a sending MTA that got 451 retries and the message is stored once", async () => {
		worker.set((call) => (call.path === "/v1/smtp/inbound" ? "reset" : defaultWorker(call)));
		const c = await greeted(mxPort(bridge));
		expect(await deliver(c)).toMatch(/^451 /);
		worker.set(defaultWorker);
		expect(await deliver(c)).toMatch(/^250 /);
		c.close();
		expect(worker.inbound().map((i) => i.bytes.toString("utf8"))).toEqual([RAW, RAW]);
	});

	it("refuses SMTP smuggling (bare LF, <CR>.<CR>) with 550 5.6.0 and posts nothing", async () => {
		for (const body of [
			"Subject: a\r\n\r\nhello\n.\r\nMAIL FROM:<evil@x.test>\r\n",
			"Subject: a\r\n\r\nhi\r.\rRSET\r\n",
		]) {
			const c = await greeted(mxPort(bridge));
			expect(await c.command("MAIL FROM:<a@remote.test>")).toMatch(/^250 /);
			expect(await c.command(`RCPT TO:<${BOUNCE}>`)).toMatch(/^250 /);
			expect(await c.command("DATA")).toMatch(/^354 /);
			expect(await c.command(`${body}.`)).toMatch(/^550 5\.6\.0/);
			c.close();
		}
		expect(worker.inbound()).toHaveLength(0);
	});

	it("refuses an over-long command line and a message over SIZE (552) without posting it", async () => {
		const small = await mxBridge({ SMTP_MAX_MESSAGE_BYTES: "2048" });
		// A line past MAX_COMMAND_LINE ends the session, on MX as on submission; one under it does not.
		for (const port of [mxPort(small), small.listeners[0]?.address.port ?? 0]) {
			const c = await greeted(port);
			expect(await c.command(`NOOP ${"a".repeat(4000)}`)).toMatch(/^250 /);
			expect(await c.command(`NOOP ${"a".repeat(5000)}`)).toMatch(/^421 .*too long/);
			c.close();
		}
		const d = await greeted(mxPort(small));
		expect(await deliver(d, BOUNCE, `Subject: big\r\n\r\n${"x".repeat(76)}\r\n`.repeat(40))).toMatch(/^552 /);
		d.close();
		expect(worker.inbound()).toHaveLength(0);
	});

	it("limits connections per IP with 421 4.7.0", async () => {
		const limited = await mxBridge({ SMTP_MAX_CONNECTIONS_PER_IP: "1" });
		const one = await greeted(mxPort(limited));
		const two = await RawSmtp.open(mxPort(limited));
		expect(await two.reply()).toMatch(/^421 4\.7\.0/);
		one.close();
		two.close();
	});

	it("delivers over STARTTLS with the bridge's certificate (nodemailer as the sending MTA)", async () => {
		const t = nodemailer.createTransport({
			host: "127.0.0.1",
			port: mxPort(bridge),
			secure: false,
			requireTLS: true,
			tls: { ca: bridge.tls().cert, servername: "localhost" },
		});
		const info = await t.sendMail({ envelope: { from: "", to: [BOUNCE] }, raw: RAW });
		expect(info.response).toMatch(/^250 2\.0\.0 Ok: stored as /);
		expect(worker.inbound()[0]?.bytes.toString("utf8")).toBe(RAW);
	});

	it("counts MX sessions, messages by code and recipient answers in /metrics", async () => {
		const b = await mxBridge();
		const c = await greeted(mxPort(b));
		await c.command("MAIL FROM:<a@remote.test>");
		expect(await c.command("RCPT TO:<nobody@remote.test>")).toMatch(/^550 /);
		expect(await c.command(`RCPT TO:<${BOUNCE}>`)).toMatch(/^250 /);
		await c.command("DATA");
		expect(await c.command(`${RAW}.`)).toMatch(/^250 /);
		c.close();
		await new Promise((r) => setTimeout(r, 100));
		const text = await metricsOf(b);
		expect(text).toContain("smtp_mx_sessions_total 1");
		expect(text).toContain("smtp_mx_sessions_active 0");
		expect(text).toContain('smtp_mx_messages_total{code="250"} 1');
		expect(text).toContain('smtp_mx_recipients_total{result="refused"} 1');
		expect(text).toContain('smtp_mx_recipients_total{result="accepted"} 1');
		// Submission counters are separate.
		expect(text).toContain("smtp_sessions_total 0");
	});

	it("is drained on shutdown like submission: an idle MX session gets 421 4.3.2, new ones are not taken", async () => {
		const b = await testBridge(worker.url, { MX_PORT: "0", BRIDGE_SECRET });
		const port = mxPort(b);
		const c = await greeted(port);
		const closing = b.close();
		expect(await c.reply()).toMatch(/^421 4\.3\.2/);
		await closing;
		await expect(RawSmtp.open(port)).rejects.toThrow();
		c.close();
	});

	it("will not start MX mode without BRIDGE_SECRET", async () => {
		await expect(testBridge(worker.url, { MX_PORT: "0" })).rejects.toThrow(/MX_PORT needs BRIDGE_SECRET/);
	});
});
