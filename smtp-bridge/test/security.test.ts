// What the bridge refuses on the wire, driven by a raw SMTP client: AUTH before TLS from a remote
// client, SMTP smuggling, commands pipelined before STARTTLS, connection and AUTH-failure limits.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge.js";
import { authPlain, defaultWorker, type FakeWorker, fakeWorker, KEY, portOf, RawSmtp, testBridge } from "./helpers.js";

let worker: FakeWorker;
const bridges: Bridge[] = [];

beforeAll(async () => {
	worker = await fakeWorker();
});
afterAll(async () => {
	await Promise.all(bridges.map((b) => b.close()));
	await worker.close();
});

async function bridgeWith(env: Record<string, string> = {}): Promise<Bridge> {
	const b = await testBridge(worker.url, env);
	bridges.push(b);
	return b;
}

async function greeted(port: number): Promise<RawSmtp> {
	const c = await RawSmtp.open(port);
	expect(await c.reply()).toMatch(/^220 /);
	return c;
}

async function loggedIn(port: number): Promise<RawSmtp> {
	const c = await greeted(port);
	await c.command("EHLO client.test");
	expect(await c.command(`AUTH PLAIN ${authPlain("demo", KEY)}`)).toMatch(/^235 /);
	return c;
}

describe("AUTH needs TLS, except from loopback", () => {
	it("does not offer AUTH to a remote client before STARTTLS, and offers it after", async () => {
		const b = await bridgeWith({ ALLOW_LOOPBACK_PLAIN_AUTH: "false" });
		const c = await greeted(portOf(b));
		const ehlo = await c.command("EHLO client.test");
		expect(ehlo).toContain("STARTTLS");
		expect(ehlo).not.toContain("AUTH");
		expect(await c.command(`AUTH PLAIN ${authPlain("demo", KEY)}`)).toMatch(/^5\d\d /);
		expect(await c.command("MAIL FROM:<a@example.test>")).toMatch(/^530 5\.7\.0 .*STARTTLS/);
		expect(await c.command("STARTTLS")).toMatch(/^220 /);
		await c.startTls(b.tls().cert);
		expect(await c.command("EHLO client.test")).toMatch(/AUTH PLAIN LOGIN/);
		expect(await c.command(`AUTH PLAIN ${authPlain("demo", KEY)}`)).toMatch(/^235 /);
		expect(await c.command("MAIL FROM:<a@example.test>")).toMatch(/^250 /);
		c.close();
	});

	it("lets a loopback client AUTH in the clear (npm start's 2525)", async () => {
		const b = await bridgeWith();
		const c = await greeted(portOf(b));
		expect(await c.command("EHLO client.test")).toMatch(/AUTH PLAIN LOGIN/);
		expect(await c.command(`AUTH PLAIN ${authPlain("demo", KEY)}`)).toMatch(/^235 /);
		c.close();
	});

	it("refuses MAIL without AUTH", async () => {
		const b = await bridgeWith();
		const c = await greeted(portOf(b));
		await c.command("EHLO client.test");
		expect(await c.command("MAIL FROM:<a@example.test>")).toMatch(/^530 5\.7\.0/);
		c.close();
	});
});

describe("trusted networks", () => {
	const SECRET = "bridge-secret-0123456789abcdef0123456789";

	it("relays without AUTH from TRUSTED_NETWORKS with the bridge secret, and only from there", async () => {
		const b = await bridgeWith({ TRUSTED_NETWORKS: "10.0.0.0/8, 127.0.0.1", BRIDGE_SECRET: SECRET });
		const c = await greeted(portOf(b));
		await c.command("EHLO client.test");
		expect(await c.command("MAIL FROM:<app@example.test>")).toMatch(/^250 /);
		await c.command("RCPT TO:<ada@x.test>");
		await c.command("DATA");
		expect(await c.command("From: app@example.test\r\nSubject: a\r\n\r\nhi\r\n.")).toMatch(/^250 2\.0\.0 Ok/);
		c.close();
		const call = worker.calls.at(-1);
		expect(call).toMatchObject({ path: "/v1/smtp/relay", authorization: `Bearer ${SECRET}` });

		const outside = await bridgeWith({ TRUSTED_NETWORKS: "10.0.0.0/8", BRIDGE_SECRET: SECRET });
		const d = await greeted(portOf(outside));
		await d.command("EHLO client.test");
		expect(await d.command("MAIL FROM:<app@example.test>")).toMatch(/^530 /);
		d.close();
	});

	it("answers 451, not 535, when the Worker refuses the bridge's secret", async () => {
		worker.set((call) =>
			call.path === "/v1/smtp/relay"
				? { status: 401, body: { error: { code: "unauthorized", message: "Invalid bridge secret.", request_id: "r" } } }
				: { status: 200, body: {} },
		);
		try {
			const b = await bridgeWith({ TRUSTED_NETWORKS: "127.0.0.0/8", BRIDGE_SECRET: SECRET });
			const c = await greeted(portOf(b));
			await c.command("EHLO client.test");
			await c.command("MAIL FROM:<app@example.test>");
			await c.command("RCPT TO:<ada@x.test>");
			await c.command("DATA");
			expect(await c.command("Subject: a\r\n\r\nhi\r\n.")).toMatch(/^451 4\.3\.0/);
			c.close();
		} finally {
			worker.set(defaultWorker);
		}
	});

	it("will not start with TRUSTED_NETWORKS but no BRIDGE_SECRET, or with a bad range", async () => {
		await expect(bridgeWith({ TRUSTED_NETWORKS: "10.0.0.0/8" })).rejects.toThrow(/BRIDGE_SECRET/);
		await expect(bridgeWith({ TRUSTED_NETWORKS: "10.0.0.0/33", BRIDGE_SECRET: SECRET })).rejects.toThrow(/CIDR/);
	});
});

describe("SMTP smuggling", () => {
	const variants: [string, string][] = [
		["<LF>.<CR><LF>", "Subject: a\r\n\r\nhello\n.\r\nMAIL FROM:<evil@x.test>\r\n"],
		["<CR><LF>.<LF>", "Subject: a\r\n\r\nhello\r\n.\nMAIL FROM:<evil@x.test>\r\n"],
		["<LF>.<LF>", "Subject: a\r\n\r\nhello\n.\nMAIL FROM:<evil@x.test>\r\n"],
		["<CR>.<CR>", "Subject: a\r\n\r\nhello\r.\rMAIL FROM:<evil@x.test>\r\n"],
		["a bare LF", "Subject: a\r\n\r\nline one\nline two\r\n"],
	];
	it.each(variants)("refuses %s in DATA with 550 5.6.0 and submits nothing", async (_name, body) => {
		const b = await bridgeWith();
		const before = worker.messages().length;
		const c = await loggedIn(portOf(b));
		expect(await c.command("MAIL FROM:<a@example.test>")).toMatch(/^250 /);
		expect(await c.command("RCPT TO:<ada@x.test>")).toMatch(/^250 /);
		expect(await c.command("DATA")).toMatch(/^354 /);
		expect(await c.command(`${body}.`)).toMatch(/^550 5\.6\.0/);
		expect(worker.messages().length).toBe(before);
		// The same session still delivers a clean message: only the line endings were refused.
		await c.command("MAIL FROM:<a@example.test>");
		await c.command("RCPT TO:<ada@x.test>");
		await c.command("DATA");
		expect(await c.command("Subject: a\r\n\r\nhello\r\n.")).toMatch(/^250 2\.0\.0 Ok: queued as /);
		expect(worker.messages().length).toBe(before + 1);
		c.close();
	});
});

describe("STARTTLS", () => {
	it("discards commands pipelined before the TLS handshake (CVE-2011-0411)", async () => {
		const b = await bridgeWith();
		const c = await greeted(portOf(b));
		await c.command("EHLO client.test");
		c.write("STARTTLS\r\nNOOP\r\nNOOP\r\n");
		expect(await c.reply()).toMatch(/^220 /);
		await c.startTls(b.tls().cert);
		await new Promise((r) => setTimeout(r, 300));
		// Nothing answered inside TLS for the plaintext NOOPs...
		expect(c.pending()).toBe("");
		// ...though a NOOP sent inside TLS is answered: an executed injected one would have shown.
		expect(await c.command("NOOP")).toMatch(/^250 /);
		c.close();
	});
});

describe("limits", () => {
	it("refuses a connection over SMTP_MAX_CONNECTIONS_PER_IP with 421 4.7.0, and takes one after a slot frees", async () => {
		const b = await bridgeWith({ SMTP_MAX_CONNECTIONS_PER_IP: "2" });
		const one = await greeted(portOf(b));
		const two = await greeted(portOf(b));
		const three = await RawSmtp.open(portOf(b));
		expect(await three.reply()).toMatch(/^421 4\.7\.0/);
		one.close();
		await new Promise((r) => setTimeout(r, 200));
		const four = await greeted(portOf(b));
		for (const c of [two, three, four]) c.close();
	});

	it("refuses a connection over SMTP_MAX_CONNECTIONS with 421", async () => {
		const b = await bridgeWith({ SMTP_MAX_CONNECTIONS: "1" });
		const one = await greeted(portOf(b));
		const two = await RawSmtp.open(portOf(b));
		expect(await two.reply()).toMatch(/^421 /);
		one.close();
		two.close();
	});

	it("stops taking AUTH from an IP after AUTH_FAILURE_LIMIT failures, even with a good key", async () => {
		const b = await bridgeWith({ AUTH_FAILURE_LIMIT: "2" });
		const c = await greeted(portOf(b));
		await c.command("EHLO client.test");
		expect(await c.command(`AUTH PLAIN ${authPlain("demo", "mq_test_bad1")}`)).toMatch(/^535 5\.7\.8/);
		expect(await c.command(`AUTH PLAIN ${authPlain("demo", "mq_test_bad2")}`)).toMatch(/^535 5\.7\.8/);
		expect(await c.command(`AUTH PLAIN ${authPlain("demo", KEY)}`)).toMatch(/^454 4\.7\.0/);
		c.close();
		// Another bridge (fresh window) takes the same good key, so the window is what refused it.
		const fresh = await loggedIn(portOf(await bridgeWith({ AUTH_FAILURE_LIMIT: "2" })));
		fresh.close();
	});

	it("advertises SIZE", async () => {
		const b = await bridgeWith({ SMTP_MAX_MESSAGE_BYTES: "123456" });
		const c = await greeted(portOf(b));
		expect(await c.command("EHLO client.test")).toMatch(/250[- ]SIZE 123456/);
		c.close();
	});
});
