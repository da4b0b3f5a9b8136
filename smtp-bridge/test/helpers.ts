// Test doubles for the bridge: a stand-in Worker on a real HTTP port (it records every call and
// answers what the test says), a bridge on ephemeral ports, and a line-based raw SMTP client for the
// exchanges nodemailer would never produce (smuggling, pipelining, missing STARTTLS).
import { mkdtempSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { type Bridge, startBridge } from "../src/bridge.js";
import { loadConfig } from "../src/config.js";
import { silentLogger } from "../src/log.js";

export const KEY = "mq_test_bridge_test_key_000000000000000000";

export type WorkerCall = {
	path: string;
	authorization: string | undefined;
	/** A JSON body parsed; any other body (MX mode's message/rfc822) as `{ raw }`, its bytes. */
	body: Record<string, unknown>;
	headers: IncomingMessage["headers"];
	/** The request body's exact bytes. */
	bytes: Buffer;
};
/** "hang" never answers (a timeout); "reset" drops the connection (the Worker is gone). */
export type WorkerReply = { status: number; body: unknown; headers?: Record<string, string> } | "hang" | "reset";
export type WorkerHandler = (call: WorkerCall) => WorkerReply | Promise<WorkerReply>;

/** The password in a call's Basic credentials. */
export const passwordOf = (call: WorkerCall): string => {
	const b64 = /^Basic (\S+)$/.exec(call.authorization ?? "")?.[1] ?? "";
	const decoded = Buffer.from(b64, "base64").toString("utf8");
	return decoded.slice(decoded.indexOf(":") + 1);
};

/** The bridge secret the MX tests configure; the stand-in Worker's SMTP_BRIDGE_SECRET. */
export const BRIDGE_SECRET = "bridge-secret-0123456789abcdef0123456789";

/**
 * MX mode's two endpoints as /work/contracts-11.md ("MX contract") defines them: recipients of the
 * bounce domain (`bounces+<token>@bounces.example.test`) or the inbound domain are accepted, anything
 * else refused with 550 5.1.1; a message is answered `{"stored": true, "id"}`.
 */
const inboundWorker: WorkerHandler = (call) => {
	if (call.authorization !== `Bearer ${BRIDGE_SECRET}`) {
		return {
			status: 401,
			body: { error: { code: "unauthorized", message: "Invalid bridge secret.", request_id: "r" } },
		};
	}
	if (call.path === "/v1/smtp/inbound/recipient") {
		const rcpt = String(call.body.recipient ?? "").toLowerCase();
		if (/^bounces\+[a-z0-9]+@bounces\.example\.test$/.test(rcpt) || rcpt.endsWith("@inbound.example.test")) {
			return { status: 200, body: { accept: true } };
		}
		return { status: 200, body: { accept: false, code: 550, enhanced: "5.1.1", message: "No such recipient here" } };
	}
	return { status: 200, body: { stored: true, id: `in_${Math.random().toString(36).slice(2, 10)}` } };
};

/** Answers like the real Worker: auth for KEY (any user name), 202 with a fresh id for every message. */
export const defaultWorker: WorkerHandler = (call) => {
	if (call.path.startsWith("/v1/smtp/inbound")) return inboundWorker(call);
	const relayed = call.path === "/v1/smtp/relay" && call.authorization?.startsWith("Bearer ");
	if (!relayed && passwordOf(call) !== KEY) {
		return { status: 401, body: { error: { code: "unauthorized", message: "Invalid API key.", request_id: "req_1" } } };
	}
	if (call.path === "/v1/smtp/auth") return { status: 200, body: { workspace_id: "ws_1" } };
	return {
		status: 202,
		body: { id: `01TESTID${Math.random().toString(36).slice(2, 10).toUpperCase()}`, status: "queued" },
	};
};

export const refusal = (status: number, code: string, message = code) => ({
	status,
	body: { error: { code, message, request_id: "req_1" } },
});

async function readBody(req: IncomingMessage): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of req) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

export async function fakeWorker(initial: WorkerHandler = defaultWorker) {
	const calls: WorkerCall[] = [];
	let handler = initial;
	const server = createServer(async (req, res) => {
		const bytes = await readBody(req);
		const json = req.headers["content-type"] === "application/json";
		const call: WorkerCall = {
			path: req.url ?? "",
			authorization: req.headers.authorization,
			body: !json
				? { raw: bytes }
				: bytes.length
					? (JSON.parse(bytes.toString("utf8")) as Record<string, unknown>)
					: {},
			headers: req.headers,
			bytes,
		};
		calls.push(call);
		const reply = await handler(call);
		if (reply === "hang") return;
		if (reply === "reset") {
			req.socket.destroy();
			return;
		}
		res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
		res.end(JSON.stringify(reply.body));
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const port = (server.address() as AddressInfo).port;
	return {
		url: `http://127.0.0.1:${port}`,
		calls,
		messages: () => calls.filter((c) => c.path === "/v1/smtp/messages"),
		inbound: () => calls.filter((c) => c.path === "/v1/smtp/inbound"),
		recipientChecks: () => calls.filter((c) => c.path === "/v1/smtp/inbound/recipient"),
		set: (next: WorkerHandler) => {
			handler = next;
		},
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}

export type FakeWorker = Awaited<ReturnType<typeof fakeWorker>>;

export function tempDir(prefix = "mq-bridge-test-"): string {
	return mkdtempSync(join(tmpdir(), prefix));
}

/** A bridge on ephemeral ports: listener 0 is STARTTLS, listener 1 implicit TLS. */
export async function testBridge(workerUrl: string, env: Record<string, string> = {}): Promise<Bridge> {
	const config = loadConfig({
		MQ_WORKER_URL: workerUrl,
		SMTP_LISTEN: "0/starttls,0/tls",
		HEALTH_PORT: "0",
		TLS_DIR: tempDir(),
		SHUTDOWN_TIMEOUT_MS: "2000",
		...env,
	});
	return startBridge(config, silentLogger);
}

export const portOf = (bridge: Bridge, index = 0): number => bridge.listeners[index]?.address.port ?? 0;

/** A raw SMTP conversation: write lines, read whole replies (multi-line aware). */
export class RawSmtp {
	private buffer = "";
	private waiters: (() => void)[] = [];

	private constructor(public socket: Socket | TLSSocket) {
		this.attach(socket);
	}

	private attach(socket: Socket | TLSSocket): void {
		socket.on("data", (d: Buffer) => {
			this.buffer += d.toString("latin1");
			for (const w of this.waiters.splice(0)) w();
		});
	}

	static async open(port: number, tls = false, ca?: string): Promise<RawSmtp> {
		const socket = tls
			? tlsConnect({ port, host: "127.0.0.1", ca, servername: "localhost" })
			: netConnect({ port, host: "127.0.0.1" });
		await new Promise<void>((resolve, reject) => {
			socket.once(tls ? "secureConnect" : "connect", () => resolve());
			socket.once("error", reject);
		});
		return new RawSmtp(socket);
	}

	/** Resolves with the next complete reply (`250-…` lines up to the `250 …` one). */
	async reply(timeoutMs = 5000): Promise<string> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const match = /^(?:\d{3}-[^\n]*\n)*\d{3}[ ][^\n]*\n/.exec(this.buffer);
			if (match) {
				this.buffer = this.buffer.slice(match[0].length);
				return match[0].trimEnd();
			}
			if (Date.now() > deadline) throw new Error(`no SMTP reply; buffer: ${JSON.stringify(this.buffer)}`);
			await new Promise<void>((resolve) => {
				this.waiters.push(resolve);
				setTimeout(resolve, 50);
			});
		}
	}

	/** What arrived and was not read as a reply yet. */
	pending(): string {
		return this.buffer;
	}

	write(text: string): void {
		this.socket.write(text);
	}

	async command(line: string): Promise<string> {
		this.write(`${line}\r\n`);
		return this.reply();
	}

	/** Upgrades this connection after a 220 to STARTTLS. */
	async startTls(ca: string): Promise<void> {
		const plain = this.socket;
		plain.removeAllListeners("data");
		const secure = tlsConnect({ socket: plain, ca, servername: "localhost" });
		await new Promise<void>((resolve, reject) => {
			secure.once("secureConnect", () => resolve());
			secure.once("error", reject);
		});
		this.socket = secure;
		this.attach(secure);
	}

	close(): void {
		this.socket.destroy();
	}
}

export const authPlain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString("base64");
