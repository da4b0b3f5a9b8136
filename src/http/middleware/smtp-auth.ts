// The guard of the /v1/smtp routes the bridge calls for a client: the client's AUTH user name and
// password arrive as `Authorization: Basic` (or an API key as `Bearer`). A password shaped like an
// API key is authenticated as that key (the user name is ignored, as the bridge promises clients);
// anything else as an SMTP credential (/v1/smtp-credentials). Either way the route sees a Principal
// with the `email:send` scope checked, then the body is read as for every authenticated route.
import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { createDb } from "../../db/client";
import { touchLastUsed } from "../../db/repositories/api-keys";
import { KEY_PATTERN } from "../../domain/auth/keys";
import { authenticate, authorize, LAST_USED_INTERVAL_MS, shouldTouch } from "../../domain/auth/principal";
import { authenticateSmtpLogin } from "../../domain/auth/smtp-credentials";
import { trustedClientIp } from "../../domain/messages/relay";
import { ApiError } from "../../errors";
import { errorSummary } from "../../lib/log";
import type { AppEnv } from "../context";
import { jsonBody, limitBody } from "./json-body";
import { rateLimit } from "./rate-limit";

function basic(header: string | undefined): { username: string; password: string } | null {
	const match = header?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i);
	if (!match?.[1]) return null;
	let decoded: string;
	try {
		decoded = new TextDecoder().decode(Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0)));
	} catch {
		return null;
	}
	const colon = decoded.indexOf(":");
	return colon < 0 ? null : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const smtpGuard = createMiddleware<AppEnv>(async (c, next) => {
	const now = Date.now();
	const header = c.req.header("authorization");
	const login = basic(header);
	const isKey = login === null || KEY_PATTERN.test(login.password);
	const authn =
		login === null
			? await authenticate(c.env.DB, header, now)
			: isKey
				? await authenticate(c.env.DB, `Bearer ${login.password}`, now)
				: await authenticateSmtpLogin(c.env.DB, login.username, login.password, now);
	if (!authn.ok) {
		if (login === null && header?.match(/^Basic/i)) {
			throw new ApiError("unauthorized", "Malformed Basic credentials.");
		}
		throw authn.error;
	}
	// A key's IP allowlist is checked against the SMTP client, not the bridge, when the bridge proves
	// it reported that client (X-Client-IP beside the bridge secret).
	const ip =
		trustedClientIp(
			c.var.config.SMTP_BRIDGE_SECRET,
			c.req.header("x-bridge-authorization"),
			c.req.header("x-client-ip"),
		) ??
		c.req.header("cf-connecting-ip") ??
		null;
	const authz = authorize(authn.value, "email:send", ip);
	if (!authz.ok) throw authz.error;
	const principal = authn.value;
	c.set("principal", principal);
	if (isKey && shouldTouch(principal.keyId, now)) {
		c.executionCtx.waitUntil(
			touchLastUsed(createDb(c.env.DB), principal.keyId, now, LAST_USED_INTERVAL_MS).catch((error: unknown) =>
				console.error("last_used_at update failed", { keyId: principal.keyId, error: errorSummary(error) }),
			),
		);
	}
	await next();
});

/** authed("email:send", { sends: true }) for the SMTP routes: API key or SMTP credential, then the body. */
export function smtpAuthed(): MiddlewareHandler<AppEnv>[] {
	return [smtpGuard, rateLimit(true), limitBody, jsonBody];
}
