// The bridge's configuration: environment variables, validated once at start (README "Configuration").
import { isIP } from "node:net";
import { z } from "zod";

/**
 * `starttls`: plain with STARTTLS (AUTH only after it, except from loopback); `tls`: implicit TLS;
 * `mx`: MX mode (plain with STARTTLS, no AUTH, only the Worker's inbound recipients).
 */
export type ListenerMode = "starttls" | "tls" | "mx";
export type Listener = { port: number; mode: ListenerMode };

/**
 * The Worker takes bodies up to MAX_BODY_BYTES (10 MiB) and the message travels base64-encoded in
 * JSON (4/3 larger), so 7 MiB of message is what always fits.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 7 * 1024 * 1024;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `2525`, `587/starttls,465/tls`: a port and its mode, comma separated. */
const listeners = z
	.string()
	.transform((text, ctx): Listener[] => {
		const out: Listener[] = [];
		for (const part of text
			.split(",")
			.map((p) => p.trim())
			.filter(Boolean)) {
			const match = /^(\d{1,5})(?:\/(starttls|tls))?$/.exec(part);
			const port = Number(match?.[1]);
			if (!match || port > 65535) {
				ctx.addIssue({ code: "custom", message: `"${part}" is not PORT, PORT/starttls or PORT/tls` });
				return z.NEVER;
			}
			out.push({ port, mode: match[2] === "tls" ? "tls" : "starttls" });
		}
		return out;
	})
	.refine((l) => l.length > 0, "at least one listener");

/** `10.0.0.0/8, 192.168.1.7, fd00::/8`: addresses and ranges, comma separated. */
const cidrs = z.string().transform((text, ctx): string[] => {
	const out: string[] = [];
	for (const part of text
		.split(",")
		.map((p) => p.trim())
		.filter(Boolean)) {
		const [address = "", bits] = part.split("/");
		const family = isIP(address);
		const max = family === 4 ? 32 : 128;
		const prefix = bits === undefined ? max : Number(bits);
		if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
			ctx.addIssue({ code: "custom", message: `"${part}" is not an IPv4/IPv6 address or CIDR range` });
			return z.NEVER;
		}
		out.push(`${address}/${prefix}`);
	}
	return out;
});

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

export const configSchema = z
	.object({
		MQ_WORKER_URL: z.url().default("http://127.0.0.1:8787"),
		SMTP_HOST: z.string().min(1).default("127.0.0.1"),
		SMTP_LISTEN: listeners.default([{ port: 2525, mode: "starttls" }]),
		SMTP_HOSTNAME: z.string().min(1).default("localhost"),
		TLS_CERT_FILE: z.string().min(1).optional(),
		TLS_KEY_FILE: z.string().min(1).optional(),
		TLS_DIR: z.string().min(1).default(".tls"),
		SMTP_MAX_CONNECTIONS: int(1, 100_000).default(1000),
		SMTP_MAX_CONNECTIONS_PER_IP: int(1, 100_000).default(100),
		SMTP_MAX_MESSAGE_BYTES: int(1024, 100 * 1024 * 1024).default(DEFAULT_MAX_MESSAGE_BYTES),
		SMTP_MAX_RECIPIENTS: int(1, 1000).default(50),
		SMTP_SOCKET_TIMEOUT_MS: int(1000, 3_600_000).default(300_000),
		AUTH_FAILURE_LIMIT: int(1, 10_000).default(10),
		AUTH_FAILURE_WINDOW_MS: int(1000, 86_400_000).default(600_000),
		AUTH_CACHE_MS: int(0, 3_600_000).default(30_000),
		/** AUTH without TLS from 127.0.0.0/8 and ::1; off in production behind a proxy on loopback. */
		ALLOW_LOOPBACK_PLAIN_AUTH: bool.default(true),
		WORKER_TIMEOUT_MS: int(100, 300_000).default(30_000),
		SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(30_000),
		/** /healthz and /metrics; empty disables. */
		HEALTH_PORT: z
			.union([z.literal(""), int(0, 65535)])
			.default(2580)
			.transform((v) => (v === "" ? null : v)),
		HEALTH_HOST: z.string().min(1).default("127.0.0.1"),
		/** Clients here may send without AUTH, as the workspace that verified the From domain. */
		TRUSTED_NETWORKS: cidrs.default([]),
		/** The Worker's SMTP_BRIDGE_SECRET; needed for TRUSTED_NETWORKS and MX_PORT. */
		BRIDGE_SECRET: z.string().min(32).optional(),
		/** MX mode (mx.ts): mail without AUTH for the Worker's bounce and inbound addresses; unset: off. */
		MX_PORT: int(0, 65535).optional(),
		/** How long the Worker's answer for one (MAIL FROM, RCPT TO) is reused. */
		MX_RECIPIENT_CACHE_MS: int(0, 3_600_000).default(30_000),
	})
	.refine((c) => c.TRUSTED_NETWORKS.length === 0 || c.BRIDGE_SECRET !== undefined, {
		message: "TRUSTED_NETWORKS needs BRIDGE_SECRET (the Worker's SMTP_BRIDGE_SECRET)",
	})
	.refine((c) => c.MX_PORT === undefined || c.BRIDGE_SECRET !== undefined, {
		message: "MX_PORT needs BRIDGE_SECRET (the Worker's SMTP_BRIDGE_SECRET)",
	})
	.refine((c) => (c.TLS_CERT_FILE === undefined) === (c.TLS_KEY_FILE === undefined), {
		message: "TLS_CERT_FILE and TLS_KEY_FILE are set together",
	});

export type Config = z.output<typeof configSchema>;

/** Empty variables count as unset, as docker and shells often pass them. */
export function loadConfig(env: Record<string, string | undefined>): Config {
	const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== "" || k === "HEALTH_PORT"));
	const parsed = configSchema.safeParse(present);
	if (!parsed.success) {
		const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`).join("; ");
		throw new Error(`Invalid smtp-bridge configuration: ${problems}`);
	}
	return parsed.data;
}
