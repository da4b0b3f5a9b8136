// Route guard: authenticates the bearer key, checks the caller's IP against the key's allowlist and
// the route's scope, and records the key's use (at most once a minute, off the response path).
// `authed(scope)` is what routes use: the guard first, then the body limit and JSON reader, so an
// unauthenticated request is answered 401/403 before a byte of its body is read.
import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { createDb } from "../../db/client";
import { touchLastUsed } from "../../db/repositories/api-keys";
import type { ApiKeyScope } from "../../db/schema";
import {
	authenticate,
	authorize,
	LAST_USED_INTERVAL_MS,
	type Principal,
	shouldTouch,
} from "../../domain/auth/principal";
import type { ApiError, Result } from "../../errors";
import { errorSummary } from "../../lib/log";
import type { AppEnv } from "../context";
import { jsonBody, limitBody } from "./json-body";
import { rateLimit } from "./rate-limit";

/** Where a route finds the caller's key: the Authorization header unless the route says otherwise. */
export type Credential = (c: Context<AppEnv>, now: number) => Promise<Result<Principal, ApiError>>;

const bearer: Credential = (c, now) => authenticate(c.env.DB, c.req.header("authorization"), now);

export function requireScope(scope: ApiKeyScope, credential: Credential = bearer) {
	return createMiddleware<AppEnv>(async (c, next) => {
		const now = Date.now();
		const authn = await credential(c, now);
		if (!authn.ok) throw authn.error;
		const principal = authn.value;
		const authz = authorize(principal, scope, c.req.header("cf-connecting-ip") ?? null);
		if (!authz.ok) throw authz.error;
		c.set("principal", principal);
		if (shouldTouch(principal.keyId, now)) {
			c.executionCtx.waitUntil(
				touchLastUsed(createDb(c.env.DB), principal.keyId, now, LAST_USED_INTERVAL_MS).catch((error: unknown) =>
					console.error("last_used_at update failed", { keyId: principal.keyId, error: errorSummary(error) }),
				),
			);
		}
		await next();
	});
}

/**
 * The middleware of every authenticated route: authenticate and authorize, apply the key's request
 * limit (issue 9; `sends` routes apply it themselves, together with hard send limits), then read the body.
 */
export function authed(scope: ApiKeyScope, options: { sends?: boolean } = {}): MiddlewareHandler<AppEnv>[] {
	return [requireScope(scope), rateLimit(options.sends === true), limitBody, jsonBody];
}
