// The bridge: one smtp-server per listener (STARTTLS or implicit TLS) sharing one set of session
// handlers, MX mode's listener with its own (mx.ts), a small HTTP port for /healthz and /metrics,
// certificate reload and graceful shutdown.
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import type { Config, Listener } from "./config.js";
import { errorSummary, type Logger } from "./log.js";
import { Metrics } from "./metrics.js";
import { mxHandlers } from "./mx.js";
import { sessionHandlers } from "./sessions.js";
import { loadTls, type TlsMaterial } from "./tls.js";
import { WorkerClient } from "./worker-client.js";

/** The longest command line taken; a longer one is answered with an error and never parsed. */
export const MAX_COMMAND_LINE = 4096;

export type RunningListener = Listener & { server: SMTPServer; address: AddressInfo };

export type Bridge = {
	listeners: RunningListener[];
	healthPort: number | null;
	metrics: Metrics;
	tls: () => TlsMaterial;
	/** Reads the certificate again; sessions already open keep theirs. False when the new pair is bad. */
	reloadTls: () => Promise<boolean>;
	/** Stops accepting, lets sessions finish for SHUTDOWN_TIMEOUT_MS, then ends the rest with 421. */
	close: () => Promise<void>;
};

function listen(server: SMTPServer, port: number, host: string): Promise<AddressInfo> {
	return new Promise((resolve, reject) => {
		server.once("error", reject);
		server.listen(port, host, () => {
			server.off("error", reject);
			resolve(server.server.address() as AddressInfo);
		});
	});
}

type Connection = SMTPServer["connections"] extends Set<infer C> ? C : never;

/** Between transactions: no MAIL yet and not in DATA, so closing loses nothing. */
const idle = (c: Connection) => c.session.envelope.mailFrom === false && c.session.envelope.rcptTo.length === 0;
const bye = (c: Connection) => {
	c.send(421, "4.3.2 Service shutting down; try again later");
	c.close();
};

/**
 * Graceful shutdown. smtp-server's own close() answers every further command with 421, which would
 * cut a transaction between RCPT and DATA; instead the listeners stop accepting, each session is
 * closed with 421 as soon as it is between transactions, and whatever remains after `timeoutMs`.
 */
async function drain(listeners: RunningListener[], timeoutMs: number): Promise<void> {
	await Promise.all(
		listeners
			.map((l) => new Promise<void>((resolve) => l.server.server.close(() => resolve())))
			.concat(
				(async () => {
					const open = () => listeners.flatMap((l) => [...l.server.connections]);
					const deadline = Date.now() + timeoutMs;
					while (open().length > 0 && Date.now() < deadline) {
						for (const c of open()) if (idle(c)) bye(c);
						await new Promise((r) => setTimeout(r, 100));
					}
					for (const c of open()) bye(c);
				})(),
			),
	);
}

function healthServer(metrics: Metrics, draining: () => boolean): HttpServer {
	return createServer((req, res) => {
		if (req.url === "/healthz") {
			const ok = !draining();
			res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
			res.end(JSON.stringify({ status: ok ? "ok" : "draining" }));
		} else if (req.url === "/metrics") {
			res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
			res.end(metrics.render());
		} else {
			res.writeHead(404, { "content-type": "application/json" });
			res.end(JSON.stringify({ error: "not found" }));
		}
	});
}

export async function startBridge(config: Config, log: Logger): Promise<Bridge> {
	const metrics = new Metrics();
	const worker = new WorkerClient({
		baseUrl: config.MQ_WORKER_URL,
		timeoutMs: config.WORKER_TIMEOUT_MS,
		authCacheMs: config.AUTH_CACHE_MS,
		bridgeSecret: config.BRIDGE_SECRET,
		recipientCacheMs: config.MX_RECIPIENT_CACHE_MS,
		onLatency: (ms) => metrics.workerLatency(ms),
	});
	const tlsSource = {
		certFile: config.TLS_CERT_FILE,
		keyFile: config.TLS_KEY_FILE,
		dir: config.TLS_DIR,
		hostname: config.SMTP_HOSTNAME,
	};
	let material = await loadTls(tlsSource);
	log("info", "tls ready", { source: material.source });
	const handlers = sessionHandlers({ config, worker, metrics, log });

	const common = {
		name: config.SMTP_HOSTNAME,
		key: material.key,
		cert: material.cert,
		size: config.SMTP_MAX_MESSAGE_BYTES,
		maxClients: config.SMTP_MAX_CONNECTIONS,
		socketTimeout: config.SMTP_SOCKET_TIMEOUT_MS,
		closeTimeout: config.SHUTDOWN_TIMEOUT_MS,
		disableReverseLookup: true,
		// RFC 5321 §4.5.3.1.4 says 512 octets; AUTH PLAIN with a long key needs more, 16 KiB is too much.
		maxCommandLength: MAX_COMMAND_LINE,
		logger: false,
	} as const;
	const specs: { listener: Listener; server: SMTPServer }[] = config.SMTP_LISTEN.map((l) => ({
		listener: l,
		server: new SMTPServer({
			...handlers,
			...common,
			banner: "Mail Queue SMTP bridge",
			secure: l.mode === "tls",
			// Per session instead (sessions.ts): AUTH before TLS only from loopback.
			allowInsecureAuth: true,
			// MAIL without AUTH is refused in onMailFrom, with a reply that says what to do.
			authOptional: true,
			authMethods: ["PLAIN", "LOGIN"],
		}),
	}));
	if (config.MX_PORT !== undefined && config.BRIDGE_SECRET !== undefined) {
		specs.push({
			listener: { port: config.MX_PORT, mode: "mx" },
			server: new SMTPServer({
				...mxHandlers({ config, worker, metrics, log, secret: config.BRIDGE_SECRET }),
				...common,
				banner: "Mail Queue MX",
				secure: false,
				authOptional: true,
				disabledCommands: ["AUTH"],
			}),
		});
	}

	const listeners: RunningListener[] = [];
	for (const { listener: l, server } of specs) {
		server.on("error", (error) => log("warn", "smtp error", { port: l.port, error: errorSummary(error) }));
		const address = await listen(server, l.port, config.SMTP_HOST);
		log("info", "smtp listening", { host: config.SMTP_HOST, port: address.port, mode: l.mode });
		listeners.push({ ...l, server, address });
	}

	let draining = false;
	let health: HttpServer | null = null;
	let healthPort: number | null = null;
	const wanted = config.HEALTH_PORT;
	if (wanted !== null) {
		const h = healthServer(metrics, () => draining);
		health = h;
		healthPort = await new Promise<number>((resolve, reject) => {
			h.once("error", reject);
			h.listen(wanted, config.HEALTH_HOST, () => resolve((h.address() as AddressInfo).port));
		});
	}

	return {
		listeners,
		healthPort,
		metrics,
		tls: () => material,
		async reloadTls() {
			try {
				const next = await loadTls(tlsSource);
				for (const l of listeners) l.server.updateSecureContext({ key: next.key, cert: next.cert });
				material = next;
				log("info", "tls reloaded", { source: next.source });
				return true;
			} catch (error) {
				log("error", "tls reload failed; keeping the current certificate", { error: errorSummary(error) });
				return false;
			}
		},
		async close() {
			draining = true;
			log("info", "shutting down", { sessions: metrics.sessionsActive, timeout_ms: config.SHUTDOWN_TIMEOUT_MS });
			await drain(listeners, config.SHUTDOWN_TIMEOUT_MS);
			const h = health;
			if (h) await new Promise<void>((resolve) => h.close(() => resolve()));
			log("info", "stopped", {});
		},
	};
}
