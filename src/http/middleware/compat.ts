// Middleware of the provider-compatible routes (routes/compat/*): the guard that reads the key from
// where that provider's SDK puts it, and the rewrite of every error into the provider's own shape,
// so the SDK's error handling keeps working.
import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { ApiKeyScope } from "../../db/schema";
import { authenticateSecret } from "../../domain/auth/principal";
import { MissingKeyError } from "../../domain/compat/common";
import { ApiError, err } from "../../errors";
import type { AppEnv } from "../context";
import { requireScope } from "./auth";
import { rateLimit } from "./rate-limit";

/** Finds the caller's key in the request (a header, Basic auth, a body field), or undefined. */
export type KeyLocator = (c: Context<AppEnv>) => string | undefined;

/**
 * The guard of `authed(scope)` with the key taken from `locate`; no key at all raises MissingKeyError.
 * Then the key's request limit and the X-RateLimit-* headers, as on /v1 (checked before the handler:
 * hard send limits of compat sends are enforced by the consumer).
 */
export function requireKeyFrom(scope: ApiKeyScope, locate: KeyLocator, missing: string): MiddlewareHandler<AppEnv> {
	const guard = requireScope(scope, async (c, now) => {
		const secret = locate(c)?.trim();
		if (!secret) return err(new MissingKeyError(missing));
		return authenticateSecret(c.env.DB, secret, now);
	});
	const limits = rateLimit(false);
	return async (c, next) => {
		await guard(c, async () => {
			await limits(c, next);
		});
	};
}

export const bearerKey: KeyLocator = (c) => c.req.header("authorization")?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];

/** The password of `Authorization: Basic base64(user:password)` when the user is `user`. */
export function basicPassword(user: string): KeyLocator {
	return (c) => {
		const encoded = c.req.header("authorization")?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i)?.[1];
		if (!encoded) return undefined;
		let decoded: string;
		try {
			decoded = atob(encoded);
		} catch {
			return undefined;
		}
		const colon = decoded.indexOf(":");
		return colon >= 0 && decoded.slice(0, colon) === user ? decoded.slice(colon + 1) : undefined;
	};
}

/**
 * Runs first on a compat route: whatever failed below it (the guard, the body reader, the handler)
 * was answered in the /v1 envelope by app.onError, which also logged anything unexpected; this
 * replaces that answer with the provider's own.
 */
export function providerErrors(render: (error: ApiError, c: Context<AppEnv>) => Response): MiddlewareHandler<AppEnv> {
	return createMiddleware<AppEnv>(async (c, next) => {
		await next();
		if (!c.error) return;
		const error =
			c.error instanceof ApiError
				? c.error
				: new ApiError("internal_error", "Something went wrong on our side; nothing was accepted.");
		const res = render(error, c);
		res.headers.set("X-Request-Id", c.get("requestId") ?? "unknown");
		c.res = undefined;
		c.res = res;
	});
}
