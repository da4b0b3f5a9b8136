// The bridge as its own process (src/main.ts, as `npm start` and the container run it): SIGHUP
// reloads the certificate without dropping sessions, SIGTERM stops accepting and lets sessions finish.
import { type ChildProcess, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { generate } from "selfsigned";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authPlain, type FakeWorker, fakeWorker, KEY, RawSmtp, tempDir } from "./helpers.js";

const BRIDGE_DIR = resolve(import.meta.dirname, "..");

type Running = { child: ChildProcess; lines: Record<string, unknown>[]; ports: number[]; health: number };

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = probe();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

async function runBridge(env: Record<string, string>): Promise<Running> {
	const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
		cwd: BRIDGE_DIR,
		env: { ...process.env, SMTP_LISTEN: "0/starttls,0/tls", HEALTH_PORT: "0", TLS_DIR: tempDir(), ...env },
		stdio: ["ignore", "pipe", "inherit"],
	});
	const lines: Record<string, unknown>[] = [];
	let partial = "";
	child.stdout?.on("data", (d: Buffer) => {
		partial += d.toString("utf8");
		const parts = partial.split("\n");
		partial = parts.pop() ?? "";
		for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as Record<string, unknown>);
	});
	const ready = await waitFor("ready", () => lines.find((l) => l.msg === "ready"));
	const ports = String(ready.ports)
		.split(",")
		.map((p) => Number(p.split("/")[0]));
	return { child, lines, ports, health: Number(ready.health_port) };
}

const exited = (child: ChildProcess) =>
	new Promise<number | null>((resolve) => {
		if (child.exitCode !== null) resolve(child.exitCode);
		else child.once("exit", (code) => resolve(code));
	});

async function pair(cn: string) {
	const pems = await generate([{ name: "commonName", value: cn }], {
		keySize: 2048,
		extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }] }],
	});
	return { cert: pems.cert, key: pems.private };
}

/** The certificate the implicit-TLS listener presents now, checked against `ca`. */
function presented(port: number, ca: string): Promise<string> {
	return new Promise((resolve, reject) => {
		const s = tlsConnect({ port, host: "127.0.0.1", ca, servername: "localhost" }, () => {
			const fingerprint = s.getPeerX509Certificate()?.fingerprint256 ?? "";
			s.destroy();
			resolve(fingerprint);
		});
		s.once("error", reject);
	});
}

async function inTransaction(port: number, ca?: string): Promise<RawSmtp> {
	const c = await RawSmtp.open(port);
	expect(await c.reply()).toMatch(/^220 /);
	await c.command("EHLO client.test");
	if (ca) {
		expect(await c.command("STARTTLS")).toMatch(/^220 /);
		await c.startTls(ca);
		await c.command("EHLO client.test");
	}
	expect(await c.command(`AUTH PLAIN ${authPlain("demo", KEY)}`)).toMatch(/^235 /);
	expect(await c.command("MAIL FROM:<a@example.test>")).toMatch(/^250 /);
	expect(await c.command("RCPT TO:<ada@x.test>")).toMatch(/^250 /);
	return c;
}

let worker: FakeWorker;
const children: ChildProcess[] = [];
beforeAll(async () => {
	worker = await fakeWorker();
});
afterAll(async () => {
	for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
	await worker.close();
});

describe("bridge process", () => {
	it("reloads the certificate on SIGHUP while an open TLS session goes on, and keeps it when the new one is bad", async () => {
		const dir = tempDir();
		const certFile = join(dir, "cert.pem");
		const keyFile = join(dir, "key.pem");
		const a = await pair("bridge-a");
		const b = await pair("bridge-b");
		writeFileSync(certFile, a.cert);
		writeFileSync(keyFile, a.key);
		const run = await runBridge({ MQ_WORKER_URL: worker.url, TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile });
		children.push(run.child);
		const [starttls = 0, implicit = 0] = run.ports;

		const session = await inTransaction(starttls, a.cert);
		expect(await presented(implicit, a.cert)).toBe(new X509Certificate(a.cert).fingerprint256);

		writeFileSync(certFile, b.cert);
		writeFileSync(keyFile, b.key);
		run.child.kill("SIGHUP");
		await waitFor("reload", () => run.lines.find((l) => l.msg === "tls reloaded"));
		expect(await presented(implicit, b.cert)).toBe(new X509Certificate(b.cert).fingerprint256);
		await expect(presented(implicit, a.cert)).rejects.toThrow();

		// The session opened under the old certificate is not dropped.
		expect(await session.command("DATA")).toMatch(/^354 /);
		expect(await session.command("Subject: s\r\n\r\nhi\r\n.")).toMatch(/^250 2\.0\.0 Ok: queued as /);

		writeFileSync(certFile, "not a certificate");
		run.child.kill("SIGHUP");
		await waitFor("failed reload", () =>
			run.lines.find((l) => l.msg === "tls reload failed; keeping the current certificate"),
		);
		expect(await presented(implicit, b.cert)).toBe(new X509Certificate(b.cert).fingerprint256);
		session.close();
		run.child.kill("SIGTERM");
		expect(await exited(run.child)).toBe(0);
	});

	it("on SIGTERM stops accepting, lets an open transaction finish with 250, closes the session after it, exits 0", async () => {
		const run = await runBridge({ MQ_WORKER_URL: worker.url, SHUTDOWN_TIMEOUT_MS: "10000" });
		children.push(run.child);
		const [port = 0] = run.ports;
		const session = await inTransaction(port);
		const exit = exited(run.child);
		run.child.kill("SIGTERM");
		await waitFor("shutting down", () => run.lines.find((l) => l.msg === "shutting down"));
		await expect(RawSmtp.open(port)).rejects.toThrow(/ECONNREFUSED/);
		expect((await fetch(`http://127.0.0.1:${run.health}/healthz`)).status).toBe(503);

		expect(await session.command("DATA")).toMatch(/^354 /);
		expect(await session.command("Subject: s\r\n\r\nhi\r\n.")).toMatch(/^250 2\.0\.0 Ok: queued as /);
		// Between transactions now: closed at once rather than kept for the whole timeout.
		expect(await session.reply()).toMatch(/^421 4\.3\.2/);
		expect(await exit).toBe(0);
	});

	it("on SIGTERM closes an idle session with 421 at once instead of waiting for the timeout", async () => {
		const run = await runBridge({ MQ_WORKER_URL: worker.url, SHUTDOWN_TIMEOUT_MS: "20000" });
		children.push(run.child);
		const session = await RawSmtp.open(run.ports[0] ?? 0);
		expect(await session.reply()).toMatch(/^220 /);
		await session.command("EHLO client.test");
		const exit = exited(run.child);
		const started = Date.now();
		run.child.kill("SIGTERM");
		expect(await session.reply()).toMatch(/^421 4\.3\.2/);
		expect(await exit).toBe(0);
		expect(Date.now() - started).toBeLessThan(5000);
	});

	it("ends a session still open after SHUTDOWN_TIMEOUT_MS with 421, then exits 0", async () => {
		const run = await runBridge({ MQ_WORKER_URL: worker.url, SHUTDOWN_TIMEOUT_MS: "1000" });
		children.push(run.child);
		const session = await inTransaction(run.ports[0] ?? 0);
		const exit = exited(run.child);
		const started = Date.now();
		run.child.kill("SIGTERM");
		expect(await session.reply(5000)).toMatch(/^421 /);
		expect(Date.now() - started).toBeGreaterThanOrEqual(900);
		expect(await exit).toBe(0);
	});
});
