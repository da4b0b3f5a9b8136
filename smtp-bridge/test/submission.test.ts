// A real SMTP client (nodemailer) through the bridge to a stand-in Worker on a real HTTP port: what
// the Worker receives, and the SMTP reply for each of its answers.
import nodemailer from "nodemailer";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge.js";
import { defaultWorker, type FakeWorker, fakeWorker, KEY, portOf, refusal, testBridge } from "./helpers.js";

const RAW = [
	"From: App <app@example.test>",
	"To: ada@x.test",
	"Subject: Hello",
	"Message-ID: <m1@client.test>",
	"",
	"Hi Ada,",
	".a line that starts with a dot",
	"",
].join("\r\n");

let worker: FakeWorker;
let bridge: Bridge;

beforeAll(async () => {
	worker = await fakeWorker();
	bridge = await testBridge(worker.url, { WORKER_TIMEOUT_MS: "500", SMTP_MAX_MESSAGE_BYTES: "4096" });
});
afterAll(async () => {
	await bridge.close();
	await worker.close();
});
afterEach(() => {
	worker.set(defaultWorker);
	worker.calls.length = 0;
});

function transport(options: { pass?: string; port?: number } = {}) {
	return nodemailer.createTransport({
		host: "127.0.0.1",
		port: options.port ?? portOf(bridge),
		secure: false,
		auth: { user: "demo", pass: options.pass ?? KEY },
		tls: { ca: bridge.tls().cert, servername: "localhost" },
	});
}

type SmtpFailure = { responseCode?: number; response?: string; code?: string };
async function failure(promise: Promise<unknown>): Promise<SmtpFailure> {
	try {
		await promise;
	} catch (error) {
		return error as SmtpFailure;
	}
	throw new Error("expected the SMTP client to fail");
}

const send = (t = transport(), to = ["ada@x.test"]) =>
	t.sendMail({ envelope: { from: "bounce@example.test", to }, raw: RAW });

describe("submission through the bridge", () => {
	it("hands the Worker the envelope and the client's exact bytes, and answers 250 with the id", async () => {
		const info = await send(transport(), ["ada@x.test", "bcc@y.test"]);
		const [auth, message] = worker.calls;
		// The client's user name and password, as Basic credentials.
		const basic = `Basic ${Buffer.from(`demo:${KEY}`).toString("base64")}`;
		expect(auth).toMatchObject({ path: "/v1/smtp/auth", authorization: basic });
		expect(message).toMatchObject({ path: "/v1/smtp/messages", authorization: basic });
		expect(message?.body).toMatchObject({ mail_from: "bounce@example.test", rcpt_to: ["ada@x.test", "bcc@y.test"] });
		// Dot-stuffing undone, nothing added (no Received header: the Worker fingerprints these bytes).
		expect(Buffer.from(String(message?.body.raw), "base64").toString("utf8")).toBe(RAW);
		expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as 01TESTID\w+$/);
		expect(info.accepted).toEqual(["ada@x.test", "bcc@y.test"]);
	});

	it("tells the Worker the client's IP only with the bridge secret beside it (X-Bridge-Authorization)", async () => {
		// Without BRIDGE_SECRET the Worker could not trust the header, so none is sent.
		await send();
		expect(worker.messages()[0]?.headers["x-client-ip"]).toBeUndefined();
		const secret = "bridge-secret-0123456789abcdef0123456789";
		const withSecret = await testBridge(worker.url, { BRIDGE_SECRET: secret });
		try {
			const plain = nodemailer.createTransport({
				host: "127.0.0.1",
				port: portOf(withSecret),
				ignoreTLS: true,
				auth: { user: "demo", pass: KEY },
			});
			await send(plain);
			for (const call of worker.calls.slice(-2)) {
				expect(call.headers["x-client-ip"]).toMatch(/127\.0\.0\.1$/);
				expect(call.headers["x-bridge-authorization"]).toBe(`Bearer ${secret}`);
			}
			expect(worker.calls.slice(-2).map((c) => c.path)).toEqual(["/v1/smtp/auth", "/v1/smtp/messages"]);
		} finally {
			await withSecret.close();
		}
	});

	it("answers 250 only once the Worker has answered 202", async () => {
		let release: () => void = () => {};
		const gate = new Promise<void>((resolve) => {
			release = resolve;
		});
		let arrived: () => void = () => {};
		const atWorker = new Promise<void>((resolve) => {
			arrived = resolve;
		});
		worker.set(async (call) => {
			if (call.path === "/v1/smtp/messages") {
				arrived();
				await gate;
			}
			return defaultWorker(call);
		});
		let settled = false;
		const sending = send().finally(() => {
			settled = true;
		});
		await atWorker;
		await new Promise((r) => setTimeout(r, 200));
		expect(settled).toBe(false);
		release();
		expect((await sending).response).toMatch(/^250 /);
	});

	const cases: { name: string; reply: Parameters<FakeWorker["set"]>[0]; code: number; text: RegExp }[] = [
		{ name: "401", reply: () => refusal(401, "unauthorized"), code: 535, text: /5\.7\.8/ },
		{
			name: "422 domain_not_verified",
			reply: () => refusal(422, "domain_not_verified", 'The sender domain "x.test" is not verified'),
			code: 550,
			text: /5\.7\.1 The sender domain "x\.test" is not verified/,
		},
		{
			name: "422 validation_error",
			reply: () => refusal(422, "validation_error", "no From"),
			code: 550,
			text: /5\.6\.0 no From/,
		},
		{ name: "413", reply: () => refusal(413, "payload_too_large"), code: 552, text: /5\.3\.4/ },
		{
			name: "429",
			reply: () => ({ ...refusal(429, "rate_limited"), headers: { "retry-after": "7" } }),
			code: 452,
			text: /4\.7\.0 .*in 7 s/,
		},
		{ name: "409 in flight", reply: () => refusal(409, "idempotency_key_in_use"), code: 451, text: /4\.3\.0/ },
		{ name: "500", reply: () => refusal(500, "internal_error"), code: 451, text: /4\.3\.0/ },
		{ name: "503", reply: () => refusal(503, "service_unavailable"), code: 451, text: /4\.3\.0/ },
		{ name: "200 that is not a 202", reply: () => ({ status: 200, body: { id: "x" } }), code: 451, text: /4\.3\.0/ },
		{ name: "a timeout", reply: () => "hang", code: 451, text: /4\.3\.0/ },
	];
	for (const c of cases) {
		it(`answers the Worker's ${c.name} on the message with ${c.code}`, async () => {
			worker.set((call) => (call.path === "/v1/smtp/messages" ? c.reply(call) : defaultWorker(call)));
			const error = await failure(send());
			expect(error.responseCode).toBe(c.code);
			expect(error.response).toMatch(c.text);
			expect(worker.messages()).toHaveLength(1);
		});
	}

	it("answers 451 when the Worker connection breaks; the client's retry sends the same bytes and is accepted", async () => {
		worker.set((call) => (call.path === "/v1/smtp/messages" ? "reset" : defaultWorker(call)));
		const error = await failure(send());
		expect(error.responseCode).toBe(451);
		worker.set(defaultWorker);
		expect((await send()).response).toMatch(/^250 /);
		const [first, retry] = worker.messages();
		// Same body, so the Worker's idempotency (Message-ID + envelope) replays instead of sending twice.
		expect(retry?.body).toEqual(first?.body);
	});

	it("answers AUTH with 454 (temporary) when the Worker is down, not 535", async () => {
		const down = await fakeWorker();
		const url = down.url;
		await down.close();
		const lonely = await testBridge(url, { WORKER_TIMEOUT_MS: "500" });
		const t = nodemailer.createTransport({
			host: "127.0.0.1",
			port: portOf(lonely),
			auth: { user: "demo", pass: KEY },
			tls: { ca: lonely.tls().cert, servername: "localhost" },
		});
		try {
			const error = await failure(send(t));
			expect(error.responseCode).toBe(454);
		} finally {
			await lonely.close();
		}
	});

	it("refuses bad credentials at AUTH with 535 and never submits", async () => {
		const error = await failure(send(transport({ pass: "mq_test_wrong" })));
		expect(error.responseCode).toBe(535);
		expect(worker.messages()).toHaveLength(0);
	});

	it("refuses a message over SMTP_MAX_MESSAGE_BYTES with 552 without calling the Worker", async () => {
		const big = `${RAW}${"x".repeat(78)}\r\n`.repeat(60);
		const error = await failure(
			transport().sendMail({ envelope: { from: "b@example.test", to: ["ada@x.test"] }, raw: big }),
		);
		expect(error.responseCode).toBe(552);
		expect(worker.messages()).toHaveLength(0);
		// The same client and bridge deliver a message under the limit, so the limit is what refused.
		expect((await send()).response).toMatch(/^250 /);
	});

	it("takes at most SMTP_MAX_RECIPIENTS recipients: the rest get 452 and the message goes to the others", async () => {
		const many = Array.from({ length: 51 }, (_, i) => `r${i}@x.test`);
		const info = await send(transport(), many);
		expect(info.rejected).toEqual(["r50@x.test"]);
		expect((worker.messages()[0]?.body.rcpt_to as string[]).length).toBe(50);
	});

	it("sends over implicit TLS (listener 1), verifying the bridge's certificate", async () => {
		const t = nodemailer.createTransport({
			host: "127.0.0.1",
			port: portOf(bridge, 1),
			secure: true,
			auth: { user: "demo", pass: KEY },
			tls: { ca: bridge.tls().cert, servername: "localhost" },
		});
		expect((await send(t)).response).toMatch(/^250 /);
	});

	it("counts messages by reply code in /metrics", async () => {
		await send();
		const text = await (await fetch(`http://127.0.0.1:${bridge.healthPort}/metrics`)).text();
		expect(text).toMatch(/smtp_messages_total\{code="250"\} \d+/);
		expect(text).toMatch(/smtp_worker_latency_ms_count [1-9]/);
		const health = await fetch(`http://127.0.0.1:${bridge.healthPort}/healthz`);
		expect(health.status).toBe(200);
	});
});
