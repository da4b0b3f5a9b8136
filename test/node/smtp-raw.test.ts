// Issue 10 gaps end to end, as `npm start` runs them (wrangler dev + the SMTP bridge): nodemailer and
// swaks send through the bridge and the sandbox-captured MIME is the client's own, body byte for
// byte, control headers and Bcc stripped; X-Queue picks a named queue; the client's IP is recorded;
// and the MX listener refuses strangers and takes a DSN for a VERP Return-Path end to end (250 once stored).
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import MailComposer from "nodemailer/lib/mail-composer/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBridge } from "../../scripts/lib/bridge.mjs";
import {
	applyMigrations,
	DEMO_DOMAIN,
	DEMO_KEY,
	ensureDevVars,
	seedDemo,
	startWorker,
} from "../../scripts/lib/local.mjs";
import { ensureSwaks, queuedId, swaks } from "../../smtp-bridge/test/swaks";
import { dsn } from "./dsn";

// Node test files run in parallel, each on its own ports: this one +7 (Worker); the bridge takes
// ephemeral ports and says which in its "ready" line.
const BASE = Number(process.env.MQ_TEST_PORT ?? 8790);
const PORT = BASE + 7;
const auth = { authorization: `Bearer ${DEMO_KEY}` };
const BRIDGE_SECRET = "node-raw-test-bridge-secret-0123456789abcdef";

let dir = "";
let worker: ChildProcess | undefined;
let bridge: ChildProcess | undefined;
let url = "";
let smtpPort = 0;
let mxPort = 0;

beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), "mq-node-smtp-raw-"));
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
			SMTP_LISTEN: "0/starttls",
			MX_PORT: "0",
			TLS_DIR: join(dir, "tls"),
			HEALTH_PORT: "",
			BRIDGE_SECRET,
		},
		onLine: () => {},
	});
	bridge = b.child;
	const ports = String(b.ready.ports).split(",");
	smtpPort = Number(ports.find((p) => p.endsWith("/starttls"))?.split("/")[0]);
	mxPort = Number(ports.find((p) => p.endsWith("/mx"))?.split("/")[0]);
});

afterAll(() => {
	bridge?.kill("SIGTERM");
	worker?.kill("SIGTERM");
	if (dir) rmSync(dir, { recursive: true, force: true });
});

type Email = { status: string; client_ip: string | null; source: string | null };

async function untilSent(id: string): Promise<Email> {
	let email = { status: "" } as Email;
	for (let i = 0; i < 100 && email.status !== "sent"; i++) {
		email = (await (await fetch(`${url}/v1/emails/${id}`, { headers: auth })).json()) as Email;
		if (email.status !== "sent") await new Promise((r) => setTimeout(r, 200));
	}
	return email;
}

const content = async (id: string) => (await fetch(`${url}/v1/emails/${id}/content`, { headers: auth })).text();
const split = (mime: string) => {
	const end = mime.indexOf("\r\n\r\n");
	return { head: mime.slice(0, end + 2), body: mime.slice(end + 2) };
};
const STRIPPED = /^(X-Tags|X-Metadata|X-Queue|X-Idempotency-Key|X-User-ID|Bcc):/im;

const ATTACHMENT = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 131) % 256));

/** The test message: odd boundary, QP soft breaks, a 990-octet line, base64 in 60-char lines. */
function handWritten(subject: string): string {
	const boundary = "----=_Part_0_+/=?odd:boundary";
	return [
		"From: App <app@example.test>",
		"To: Ada <ada@x.test>",
		"Bcc: audit@x.test",
		`Subject: ${subject}`,
		`Message-ID: <${subject.replace(/\W/g, "")}@client.test>`,
		"MIME-Version: 1.0",
		"X-Tags: raw,e2e",
		'X-Metadata: {"case":"raw"}',
		"X-User-ID: user-42",
		`X-Idempotency-Key: ${subject.replace(/\W/g, "-")}`,
		"X-Campaign: raw-e2e",
		`Content-Type: multipart/mixed; boundary="${boundary}"`,
		"",
		`--${boundary}`,
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: quoted-printable",
		"",
		`Gr=C3=BC=C3=9Fe ${"a".repeat(60)}=`,
		`${"b".repeat(75)}=`,
		"end=20",
		"L".repeat(990),
		`--${boundary}`,
		'Content-Type: application/octet-stream; name="blob.bin"',
		"Content-Transfer-Encoding: base64",
		'Content-Disposition: attachment; filename="blob.bin"',
		"",
		...(ATTACHMENT.toString("base64").match(/.{1,60}/g) ?? []),
		`--${boundary}--`,
		"",
	].join("\r\n");
}

function transport() {
	return nodemailer.createTransport({
		host: "127.0.0.1",
		port: smtpPort,
		ignoreTLS: true,
		auth: { user: "demo", pass: DEMO_KEY },
	});
}

/** The captured MIME is the client's: same body bytes, its headers minus the stripped ones. */
function expectClientBytes(mime: string, raw: string, id: string) {
	const sent = split(mime);
	const client = split(raw);
	expect(sent.body).toBe(client.body);
	expect(sent.head).not.toMatch(STRIPPED);
	expect(sent.head).toMatch(new RegExp(`^X-Mail-Queue-ID: ${id}\\r$`, "m"));
	const kept = client.head.split("\r\n").filter((l) => l && !STRIPPED.test(l));
	for (const line of kept) expect(sent.head).toContain(`${line}\r\n`);
	expect(mime).not.toContain("audit@x.test");
}

describe("the client's MIME as sent, through the bridge into the local relay", () => {
	it("nodemailer (raw): the sandbox-captured MIME has the client's body byte for byte, control headers stripped", async () => {
		const raw = handWritten("Raw via nodemailer");
		const info = await transport().sendMail({
			envelope: { from: "app@example.test", to: ["ada@x.test", "audit@x.test"] },
			raw,
		});
		const id = /^250 2\.0\.0 Ok: queued as (\S+)$/.exec(info.response)?.[1] ?? "";
		const email = await untilSent(id);
		expect(email).toMatchObject({ status: "sent", source: "smtp", client_ip: "127.0.0.1" });
		expectClientBytes(await content(id), raw, id);
	});

	it("nodemailer (composed): the MIME nodemailer built is what is delivered", async () => {
		const mail = new MailComposer({
			from: "App <app@example.test>",
			to: "ada@x.test",
			subject: "Composed über SMTP",
			text: `Zeile mit Umlauten äöü ${"lang ".repeat(40)}`,
			html: `<p>${"<b>x</b>".repeat(200)}</p>`,
			headers: { "X-Tags": "composed", "X-Queue": "default" },
			attachments: [{ filename: "blob.bin", content: ATTACHMENT }],
		});
		const raw = (await mail.compile().build()).toString("utf8");
		const info = await transport().sendMail({ envelope: { from: "app@example.test", to: ["ada@x.test"] }, raw });
		const id = /^250 2\.0\.0 Ok: queued as (\S+)$/.exec(info.response)?.[1] ?? "";
		expect((await untilSent(id)).status).toBe("sent");
		expectClientBytes(await content(id), raw, id);
	});

	const swaksReady = ensureSwaks();
	it.skipIf(!swaksReady.ok)(
		`swaks --data: the captured MIME has the client's body byte for byte${swaksReady.ok ? "" : ` (skipped: ${swaksReady.reason})`}`,
		async () => {
			const raw = handWritten("Raw via swaks");
			const file = join(dir, "raw.eml");
			// swaks ends the data with its own CRLF before the final dot: the file leaves the last one off,
			// so what swaks puts on the wire is exactly `raw`.
			writeFileSync(file, raw.slice(0, -2));
			const result = await swaks([
				"--server",
				`127.0.0.1:${smtpPort}`,
				"--auth",
				"PLAIN",
				"--auth-user",
				"demo",
				"--auth-password",
				DEMO_KEY,
				"--from",
				"app@example.test",
				"--to",
				"ada@x.test,audit@x.test",
				"--data",
				file,
			]);
			const id = queuedId(result.output) ?? "";
			expect(id, result.output).not.toBe("");
			expect((await untilSent(id)).status).toBe("sent");
			expectClientBytes(await content(id), raw, id);
		},
	);

	it("starts the MX listener beside submission: no AUTH, and an unknown recipient is refused with 550", async () => {
		expect(mxPort).toBeGreaterThan(0);
		const t = nodemailer.createTransport({ host: "127.0.0.1", port: mxPort, ignoreTLS: true });
		const refused = await t
			.sendMail({ envelope: { from: "", to: ["nobody@nowhere.test"] }, raw: "Subject: x\r\n\r\nx\r\n" })
			.then(
				() => null,
				(error: { responseCode?: number }) => error,
			);
		expect(refused?.responseCode).toBe(550);
	});

	it("takes a DSN for a VERP Return-Path over MX (250 once stored) and the recipient reads bounced", async () => {
		const res = await fetch(`${url}/v1/emails`, {
			method: "POST",
			headers: { ...auth, "content-type": "application/json" },
			body: JSON.stringify({ from: `app@${DEMO_DOMAIN}`, to: ["gone-mx@x.test"], subject: "Hi", text: "Hi" }),
		});
		expect(res.status).toBe(202);
		const { id } = (await res.json()) as { id: string };
		expect((await untilSent(id)).status).toBe("sent");
		type Detail = { recipients: { status: string; return_path: string }[]; events: { type: string }[] };
		const detail = async () => (await (await fetch(`${url}/v1/emails/${id}`, { headers: auth })).json()) as Detail;
		const returnPath = (await detail()).recipients[0]?.return_path ?? "";
		expect(returnPath).toMatch(/^bounces\+/);
		expect((await detail()).recipients[0]?.status).toBe("sent");

		const t = nodemailer.createTransport({ host: "127.0.0.1", port: mxPort, ignoreTLS: true });
		const info = await t.sendMail({
			envelope: { from: "", to: [returnPath] },
			raw: dsn(returnPath, "gone-mx@x.test", id),
		});
		expect(info.response).toMatch(/^250 /);
		const after = await detail();
		expect(after.recipients[0]?.status).toBe("bounced");
		expect(after.events.some((e) => e.type === "bounced")).toBe(true);
	});
});
