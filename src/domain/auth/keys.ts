// API key secrets: `mq_live_…` / `mq_test_…`, 32 random bytes in base64url, stored only as a SHA-256
// hash with a short visible prefix. Test keys send through the sandbox whatever the routing says.
import { randomToken, sha256Hex } from "../../lib/crypto";

export type KeyMode = "live" | "test";

export const KEY_PATTERN = /^mq_(live|test)_[A-Za-z0-9_-]{16,128}$/;
/** The operators' token (env.ts PLATFORM_TOKEN) looks like this; it is never a workspace key. */
export const PLATFORM_TOKEN_PREFIX = "mq_platform_";
const PREFIX_LENGTH = 12;

export function generateKey(mode: KeyMode): { secret: string; prefix: string } {
	const secret = `mq_${mode}_${randomToken(32)}`;
	return { secret, prefix: secret.slice(0, PREFIX_LENGTH) };
}

export function keyPrefix(secret: string): string {
	return secret.slice(0, PREFIX_LENGTH);
}

export function hashKey(secret: string): Promise<string> {
	return sha256Hex(secret);
}
