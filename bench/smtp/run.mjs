// `npm run bench:smtp`: messages per second through SMTP bridge → Worker → queue with 50 concurrent
// SMTP clients, next to the same messages through POST /v1/emails in the same run (as a ratio), and
// the bridge's resident memory with 1,000 and 10,000 idle sessions. Local figures on this machine
// (the queue consumer runs too, equally in both phases), not production ones.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { startBridge } from "../../scripts/lib/bridge.mjs";
import { applyMigrations, DEMO_KEY, ensureDevVars, seedDemo, startWorker } from "../../scripts/lib/local.mjs";

const BASE = Number(process.env.MQ_BENCH_PORT ?? 8794);
const CLIENTS = 50;
const DURATION_MS = Number(process.env.MQ_BENCH_SECONDS ?? 10) * 1000;
const IDLE = [1000, 10_000];

const dir = mkdtempSync(join(tmpdir(), "mq-bench-smtp-"));
const children = [];
const cleanup = () => {
	for (const c of children) c.kill("SIGTERM");
	rmSync(dir, { recursive: true, force: true });
};

const message = (i) => ({
	from: "App <app@example.test>",
	to: [`r${i}@x.test`],
	subject: "Bench",
	text: "Hello",
	html: "<p>Hello</p>",
});

/** Runs `CLIENTS` loops of `send` for DURATION_MS; returns accepted messages per second. */
async function load(send) {
	const until = Date.now() + DURATION_MS;
	let ok = 0;
	let failed = 0;
	await Promise.all(
		Array.from({ length: CLIENTS }, async (_, c) => {
			for (let i = 0; Date.now() < until; i++) {
				if (await send(c, i)) ok++;
				else failed++;
			}
		}),
	);
	return { perSecond: ok / (DURATION_MS / 1000), ok, failed };
}

const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

async function idleSessions(port, pid, n, sockets) {
	while (sockets.length < n) {
		const batch = Array.from(
			{ length: Math.min(500, n - sockets.length) },
			() =>
				new Promise((resolve, reject) => {
					const s = connect({ port, host: "127.0.0.1" });
					s.once("data", () => {
						s.write("EHLO bench.test\r\n");
						resolve(s);
					});
					s.once("error", reject);
				}),
		);
		sockets.push(...(await Promise.all(batch)));
	}
	await new Promise((r) => setTimeout(r, 1000));
	return rssMb(pid);
}

try {
	ensureDevVars();
	applyMigrations(dir, { quiet: true });
	seedDemo(dir, { quiet: true });
	const worker = await startWorker({ port: BASE, persistTo: dir, inheritOutput: false });
	children.push(worker.child);
	worker.child.stdout?.resume();
	worker.child.stderr?.resume();
	const bridge = await startBridge({
		workerUrl: worker.url,
		env: { SMTP_LISTEN: String(BASE + 1), TLS_DIR: join(dir, "tls"), HEALTH_PORT: "" },
		onLine: () => {},
	});
	children.push(bridge.child);

	const headers = { authorization: `Bearer ${DEMO_KEY}`, "content-type": "application/json" };
	const http = await load(async (_c, i) => {
		const res = await fetch(`${worker.url}/v1/emails`, { method: "POST", headers, body: JSON.stringify(message(i)) });
		await res.arrayBuffer();
		return res.status === 202;
	});
	const transports = Array.from({ length: CLIENTS }, () =>
		nodemailer.createTransport({
			host: "127.0.0.1",
			port: BASE + 1,
			pool: true,
			maxConnections: 1,
			maxMessages: Number.POSITIVE_INFINITY,
			ignoreTLS: true,
			auth: { user: "demo", pass: DEMO_KEY },
		}),
	);
	/** Why SMTP sends failed: reply code or client error code → count. */
	const smtpFailures = {};
	const smtp = await load(async (c, i) => {
		try {
			const info = await transports[c].sendMail(message(i));
			return info.response.startsWith("250 ");
		} catch (error) {
			const why = String(error?.responseCode ?? error?.code ?? "error");
			smtpFailures[why] = (smtpFailures[why] ?? 0) + 1;
			return false;
		}
	});
	for (const t of transports) t.close();

	// Memory: a bridge of its own, no traffic, sessions that greeted and sit idle.
	const idleBridge = await startBridge({
		workerUrl: worker.url,
		env: {
			SMTP_LISTEN: String(BASE + 2),
			TLS_DIR: join(dir, "tls"),
			HEALTH_PORT: "",
			SMTP_MAX_CONNECTIONS: "20000",
			SMTP_MAX_CONNECTIONS_PER_IP: "20000",
		},
		onLine: () => {},
	});
	children.push(idleBridge.child);
	const pid = idleBridge.child.pid;
	const baseline = rssMb(pid);
	const sockets = [];
	const memory = { baseline_mb: Math.round(baseline) };
	for (const n of IDLE) memory[`idle_${n}_mb`] = Math.round(await idleSessions(BASE + 2, pid, n, sockets));
	for (const s of sockets) s.destroy();

	const result = {
		clients: CLIENTS,
		seconds: DURATION_MS / 1000,
		http_per_s: Math.round(http.perSecond),
		smtp_per_s: Math.round(smtp.perSecond),
		smtp_failed: smtp.failed,
		smtp_failures: smtpFailures,
		ratio_smtp_to_http: Number((smtp.perSecond / http.perSecond).toFixed(2)),
		...memory,
	};
	console.log(JSON.stringify(result, null, 2));
} finally {
	cleanup();
}
