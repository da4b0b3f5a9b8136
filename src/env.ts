// The Worker's bindings and its zod-checked configuration, validated once per entrypoint call and
// passed down typed. Secrets come from `wrangler secret put` in deployed environments and from
// .dev.vars locally (written by `npm start`).
import { z } from "zod";

export type Secrets = {
	/** HMAC key for message-id tags, tracking tokens and webhook signatures. */
	SIGNING_KEY: string;
	/** Base64 of 32 random bytes: AES-256-GCM key for credentials at rest. */
	ENCRYPTION_KEY: string;
	/** Optional: enables POST /v1/smtp/relay for the SMTP bridge's trusted networks. */
	SMTP_BRIDGE_SECRET?: string;
};

export type Env = Cloudflare.Env & Secrets;

const configSchema = z.object({
	ENVIRONMENT: z.enum(["development", "test", "staging", "production"]),
	MAX_BODY_BYTES: z.coerce
		.number()
		.int()
		.positive()
		.max(100 * 1024 * 1024),
	/** Longest one gateway call may take (a timeout is a temporary failure); a var, default 30 s. */
	DELIVERY_TIMEOUT_MS: z.coerce.number().int().positive().max(120_000).default(30_000),
	SIGNING_KEY: z.string().min(32, "SIGNING_KEY must be at least 32 characters"),
	ENCRYPTION_KEY: z.string().refine((v) => /^[A-Za-z0-9+/]{43}=$/.test(v), "ENCRYPTION_KEY must be base64 of 32 bytes"),
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
