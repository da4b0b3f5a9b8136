// The Worker's bindings and its zod-checked configuration, validated once per entrypoint call and
// passed down typed. Secrets come from `wrangler secret put` in deployed environments and from
// .dev.vars locally (written by `npm start`).
import { z } from "zod";

export type Secrets = {
	/** HMAC key for message-id tags, tracking tokens and webhook signatures. */
	SIGNING_KEY: string;
	/** Base64 of 32 random bytes: AES-256-GCM key for credentials at rest. */
	ENCRYPTION_KEY: string;
	/**
	 * `mq_platform_…`: the operators' token for /v1/platform/*. Optional: without it (or with a
	 * malformed one) the platform API refuses every call and the rest of the relay is unaffected.
	 */
	PLATFORM_TOKEN?: string;
	/** Optional: enables POST /v1/smtp/relay for the SMTP bridge's trusted networks. */
	SMTP_BRIDGE_SECRET?: string;
};

export type Env = Cloudflare.Env & Secrets;

/** `mq_platform_` and at least 32 base64url characters (`npm start` makes 43). */
export const platformTokenSchema = z.string().regex(/^mq_platform_[A-Za-z0-9_-]{32,256}$/);

export type PlatformToken = { ok: true; token: string } | { ok: false; problem: "missing" | "malformed" };

function checkPlatformToken(value: string | undefined): PlatformToken {
	if (value === undefined || value === "") return { ok: false, problem: "missing" };
	const parsed = platformTokenSchema.safeParse(value);
	return parsed.success ? { ok: true, token: parsed.data } : { ok: false, problem: "malformed" };
}

const configSchema = z.object({
	ENVIRONMENT: z.enum(["development", "test", "staging", "production"]),
	MAX_BODY_BYTES: z.coerce
		.number()
		.int()
		.positive()
		.max(100 * 1024 * 1024),
	/** Longest one gateway call may take (a timeout is a temporary failure); a var, default 30 s. */
	DELIVERY_TIMEOUT_MS: z.coerce.number().int().positive().max(120_000).default(30_000),
	/** DNS-over-HTTPS JSON endpoint for domain verification (a var; .dev.vars and tests point it elsewhere). */
	DOH_URL: z.url({ protocol: /^https?$/ }).default("https://cloudflare-dns.com/dns-query"),
	/** Longest one DoH lookup may take; a timeout means "try later", never "missing". */
	DOH_TIMEOUT_MS: z.coerce.number().int().positive().max(30_000).default(5_000),
	/** The relay's inbound MX host, for the `bounces.<domain>` record; unset, any MX there passes. */
	INBOUND_MX_HOST: z
		.string()
		.regex(/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/)
		.optional(),
	/**
	 * One bounce domain for every sending domain instead of `bounces.<domain>` (docs/inbound.md); a
	 * var for development and tests (`bounces.example.test`).
	 */
	BOUNCE_DOMAIN: z
		.string()
		.regex(/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/)
		.optional(),
	/** The Worker's public origin, for links it mails or posts out (inbound attachment downloads). */
	PUBLIC_URL: z.url({ protocol: /^https?$/ }).default("http://localhost:8787"),
	SIGNING_KEY: z.string().min(32, "SIGNING_KEY must be at least 32 characters"),
	ENCRYPTION_KEY: z.string().refine((v) => /^[A-Za-z0-9+/]{43}=$/.test(v), "ENCRYPTION_KEY must be base64 of 32 bytes"),
	// Checked here, but a bad value disables only the platform API (it says why), not the mail path.
	PLATFORM_TOKEN: z.string().optional().transform(checkPlatformToken),
	/** Shared with the SMTP bridge for unauthenticated relay from its trusted networks; unset: off. */
	SMTP_BRIDGE_SECRET: z.string().min(32, "SMTP_BRIDGE_SECRET must be at least 32 characters").optional(),
});

export type Config = z.infer<typeof configSchema>;

// Bindings are one object per isolate, so the parsed config is cached against it.
const parsed = new WeakMap<object, Config>();

export function loadConfig(env: Env): Config {
	let config = parsed.get(env);
	if (!config) {
		const result = configSchema.safeParse(env);
		if (!result.success) {
			const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
			throw new Error(`Invalid Worker configuration: ${problems}`);
		}
		config = result.data;
		parsed.set(env, config);
	}
	return config;
}
