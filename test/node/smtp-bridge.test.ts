// SMTP end to end, as `npm start` runs it: the relay under wrangler dev (its own database and port)
// and the SMTP bridge beside it; real SMTP clients (nodemailer, swaks) send with the demo key as the
// AUTH password, and the message reaches `sent` through the sandbox.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBridge } from "../../scripts/lib/bridge.mjs";
import { applyMigrations, DEMO_KEY, ensureDevVars, seedDemo, startWorker } from "../../scripts/lib/local.mjs";
import { ensureSwaks, queuedId, swaks } from "../../smtp-bridge/test/swaks";

// Node test files run in parallel, each on its own ports (see admin-cli.test.ts): this one +4 (Worker)
// and +5 (SMTP).
const BASE = Number(process.env.MQ_TEST_PORT ?? 8790);
const PORT = BASE + 4;
const SMTP_PORT = BASE + 5;
const auth = { authorization: `Bearer ${DEMO_KEY}` };
const AUTH_CACHE_MS = 500;
const BRIDGE_SECRET = "node-test-bridge-secret-0123456789abcdef";
// The relay's own address range for unauthenticated relay: 127.0.0.2 (Linux routes all 127/8 to lo),
// so clients on 127.0.0.1 still have to log in.
const TRUSTED = "127.0.0.2";

let dir = "";
let worker: ChildProcess | undefined;
let bridge: ChildProcess | undefined;
let url = "";

beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), "mq-node-smtp-"));
	ensureDevVars();
	applyMigrations(dir, { quiet: true });
	seedDemo(dir, { quiet: true });
	const started = await startWorker({
		port: PORT,
		persistTo: dir,
		inheritOutput: false,
		vars: { SMTP_BRIDGE_SECRET: BRIDGE_SECRET },
	});
	worker = started.child;
	worker.stdout?.resume();
	worker.stderr?.resume();
	url = started.url;
	const b = await startBridge({
		workerUrl: url,
		env: {
			SMTP_LISTEN: `${SMTP_PORT}/starttls`,
			TLS_DIR: join(dir, "tls"),
			HEALTH_PORT: "",
			AUTH_CACHE_MS: String(AUTH_CACHE_MS),
			TRUSTED_NETWORKS: `${TRUSTED}/32`,
			BRIDGE_SECRET,
		},
		onLine: () => {},
	});
	bridge = b.child;
});

afterAll(() => {
	bridge?.kill("SIGTERM");
	worker?.kill("SIGTERM");
	if (dir) rmSync(dir, { recursive: true, force: true });
});

type Email = { status: string; subject: string; to: { email: string }[]; events: { type: string }[] };

async function untilSent(id: string): Promise<Email> {
	let email = { status: "" } as Email;
	for (let i = 0; i < 100 && email.status !== "sent"; i++) {
		const res = await fetch(`${url}/v1/emails/${id}`, { headers: auth });
		email = (await res.json()) as Email;
		if (email.status !== "sent") await new Promise((r) => setTimeout(r, 200));
	}
	return email;
}

const content = async (id: string) => (await fetch(`${url}/v1/emails/${id}/content`, { headers: auth })).text();

const transport = () =>
	nodemailer.createTransport({
		host: "127.0.0.1",
		port: SMTP_PORT,
		auth: { user: "demo", pass: DEMO_KEY },
		// The bridge's certificate is the self-signed one it generated on first start.
		tls: { rejectUnauthorized: false },
	});

describe("SMTP through the bridge into the local relay", () => {
	it("nodemailer: 250 with the id, the message reaches sent with its content, a Bcc from the envelope", async () => {
		const info = await transport().sendMail({
			from: "App <app@example.test>",
			to: "ada@x.test",
			bcc: "audit@x.test",
			subject: "Over SMTP",
			text: "Hello over SMTP",
			html: "<p>Hello over SMTP</p>",
			headers: { "X-Tags": "smtp,e2e", "X-Campaign": "bridge" },
		});
		const id = /^250 2\.0\.0 Ok: queued as (\S+)$/.exec(info.response)?.[1] ?? "";
		expect(id).not.toBe("");
		const email = await untilSent(id);
		expect(email).toMatchObject({ status: "sent", subject: "Over SMTP" });
		// One `sent` per recipient: ada from To, audit from the envelope only (Bcc).
		expect(email.events.map((e) => e.type)).toEqual(["queued", "processing", "sent", "sent"]);
		const mime = await content(id);
		expect(mime).toContain("Hello over SMTP");
		expect(mime).toContain("X-Campaign: bridge");
		expect(mime).not.toContain("X-Tags");
		expect(mime).not.toContain("audit@x.test");
		const list = (await (await fetch(`${url}/v1/emails?tag=e2e`, { headers: auth })).json()) as {
			data: { id: string }[];
		};
		expect(list.data.map((e) => e.id)).toContain(id);
	});

	it("nodemailer: an attachment and an inline image (cid) reach sent and are in the delivered MIME", async () => {
		const pdf = Buffer.from(`%PDF-1.4\n${"x".repeat(120)}`);
		const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x6c, 0x6f, 0x67, 0x6f]);
		const info = await transport().sendMail({
			from: "App <app@example.test>",
			to: "ada@x.test",
			subject: "Invoice over SMTP",
			html: '<p>Invoice <img src="cid:logo@app.test"></p>',
			attachments: [
				{ filename: "invoice.pdf", content: pdf, contentType: "application/pdf" },
				{ filename: "logo.png", content: png, contentType: "image/png", cid: "logo@app.test" },
			],
		});
		const id = /^250 2\.0\.0 Ok: queued as (\S+)$/.exec(info.response)?.[1] ?? "";
		expect((await untilSent(id)).status).toBe("sent");
		// The delivered MIME is nodemailer's own (raw mode, docs/smtp.md): its quoting of names included.
		const mime = await content(id);
		expect(mime).toMatch(/^Content-Disposition: attachment; filename="?invoice\.pdf"?\r$/m);
		expect(mime).toContain((pdf.toString("base64").match(/.{1,76}/g) ?? []).join("\r\n"));
		expect(mime).toMatch(/^Content-Disposition: inline; filename="?logo\.png"?\r$/m);
		expect(mime).toContain("Content-ID: <logo@app.test>\r\n");
		expect(mime).toContain(png.toString("base64"));
	});

	it("a client resending the same message (same Message-ID, same envelope) gets the same id: sent once", async () => {
		const raw = [
			"From: app@example.test",
			"To: ada@x.test",
			"Subject: retry",
			`Message-ID: <retry-${Date.now()}@client.test>`,
			"",
			"once",
			"",
		].join("\r\n");
		const envelope = { from: "app@example.test", to: ["ada@x.test"] };
		const first = await transport().sendMail({ envelope, raw });
		const again = await transport().sendMail({ envelope, raw });
		expect(again.response).toBe(first.response);
	});

	it("refuses a sender domain the demo workspace has not verified with 550 5.7.1", async () => {
		const error = await transport()
			.sendMail({ from: "app@unverified.test", to: "ada@x.test", subject: "no", text: "no" })
			.then(
				() => null,
				(e: { responseCode?: number; response?: string }) => e,
			);
		expect(error?.responseCode).toBe(550);
		expect(error?.response).toMatch(/5\.7\.1 .*unverified\.test/);
	});

	it("refuses a wrong password with 535 5.7.8", async () => {
		const t = nodemailer.createTransport({
			host: "127.0.0.1",
			port: SMTP_PORT,
			auth: { user: "demo", pass: "mq_test_not_a_key_0000000000000000000000" },
			tls: { rejectUnauthorized: false },
		});
		const error = await t.verify().then(
			() => null,
			(e: { responseCode?: number }) => e,
		);
		expect(error?.responseCode).toBe(535);
	});

	it("an SMTP credential from /v1/smtp-credentials logs in and sends; revoked, it gets 535", async () => {
		const res = await fetch(`${url}/v1/smtp-credentials`, {
			method: "POST",
			headers: { ...auth, "content-type": "application/json" },
			body: JSON.stringify({ name: "crm", mode: "test", allowed_domains: ["example.test"] }),
		});
		expect(res.status).toBe(201);
		const cred = (await res.json()) as { id: string; username: string; password: string };
		const login = nodemailer.createTransport({
			host: "127.0.0.1",
			port: SMTP_PORT,
			auth: { user: cred.username, pass: cred.password },
			tls: { rejectUnauthorized: false },
		});
		const info = await login.sendMail({ from: "app@example.test", to: "ada@x.test", subject: "cred", text: "hi" });
		const id = /queued as (\S+)$/.exec(info.response)?.[1] ?? "";
		expect((await untilSent(id)).status).toBe("sent");
		await fetch(`${url}/v1/smtp-credentials/${cred.id}`, { method: "DELETE", headers: auth });
		// The bridge caches a successful AUTH for AUTH_CACHE_MS; a new login after that is refused.
		await new Promise((r) => setTimeout(r, AUTH_CACHE_MS + 100));
		const error = await login.verify().then(
			() => null,
			(e: { responseCode?: number }) => e,
		);
		expect(error?.responseCode).toBe(535);
	});

	it("relays without AUTH from a trusted network as the workspace that verified the From domain", async () => {
		const relay = nodemailer.createTransport({
			host: "127.0.0.1",
			port: SMTP_PORT,
			localAddress: TRUSTED,
			ignoreTLS: true,
		});
		const info = await relay.sendMail({ from: "app@example.test", to: "ada@x.test", subject: "relayed", text: "hi" });
		const id = /queued as (\S+)$/.exec(info.response)?.[1] ?? "";
		// Readable with the demo workspace's key: it was sent as that workspace.
		expect((await untilSent(id)).status).toBe("sent");
		// The same client from an untrusted address must log in.
		const outsider = nodemailer.createTransport({ host: "127.0.0.1", port: SMTP_PORT, ignoreTLS: true });
		const error = await outsider.sendMail({ from: "app@example.test", to: "ada@x.test", subject: "x", text: "x" }).then(
			() => null,
			(e: { responseCode?: number }) => e,
		);
		expect(error?.responseCode).toBe(530);
	});

	const available = ensureSwaks();
	it.skipIf(!available.ok)(
		`swaks: STARTTLS + AUTH PLAIN, the message reaches sent${available.ok ? "" : ` (SKIPPED: ${available.reason})`}`,
		async () => {
			const result = await swaks([
				"--server",
				`127.0.0.1:${SMTP_PORT}`,
				"-tls",
				"--auth",
				"PLAIN",
				"--auth-user",
				"demo",
				"--auth-password",
				DEMO_KEY,
				"--from",
				"app@example.test",
				"--to",
				"ada@x.test",
				"--header",
				"Subject: swaks e2e",
				"--body",
				"Hello from swaks",
			]);
			expect(result.status).toBe(0);
			const id = queuedId(result.output) ?? "";
			expect((await untilSent(id)).status).toBe("sent");
			expect(await content(id)).toContain("Hello from swaks");
		},
	);
});
