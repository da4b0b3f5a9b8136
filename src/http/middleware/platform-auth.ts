// Guard of /v1/platform/*: the caller must present the deployment's PLATFORM_TOKEN, compared in
// constant time. Workspace keys are refused here whatever their scope, and the platform token is
// refused on workspace routes (domain/auth/principal.ts), so neither ever stands in for the other.
// Like `authed`, the body is read only after the guard passed.
import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { KEY_PATTERN } from "../../domain/auth/keys";
import { ApiError } from "../../errors";
import { sha256Hex, timingSafeEqual } from "../../lib/crypto";
import type { AppEnv } from "../context";
import { jsonBody, limitBody } from "./json-body";

const requirePlatformToken = createMiddleware<AppEnv>(async (c, next) => {
	const match = c.req.header("authorization")?.match(/^Bearer\s+(\S+)\s*$/i);
	const presented = match?.[1];
	if (!presented) {
		throw new ApiError("unauthorized", "Missing platform token. Send it as `Authorization: Bearer mq_platform_…`.");
	}
	if (KEY_PATTERN.test(presented)) {
		throw new ApiError("forbidden", "Workspace API keys cannot call the platform API; use the PLATFORM_TOKEN.");
	}
	const configured = c.var.config.PLATFORM_TOKEN;
	if (!configured.ok) {
		throw new ApiError(
			"platform_not_configured",
			configured.problem === "missing"
				? "The platform API is disabled: this deployment has no PLATFORM_TOKEN secret (wrangler secret put PLATFORM_TOKEN)."
				: "The platform API is disabled: this deployment's PLATFORM_TOKEN is malformed (expected mq_platform_ and 32 or more base64url characters).",
		);
	}
	// Hashing first gives both sides one length, so the comparison's time says nothing about the token.
	const [a, b] = await Promise.all([sha256Hex(presented), sha256Hex(configured.token)]);
	if (!timingSafeEqual(a, b)) throw new ApiError("unauthorized", "The platform token is invalid.");
	await next();
});

/** The middleware of every platform route. */
export const platformAuthed: MiddlewareHandler<AppEnv>[] = [requirePlatformToken, limitBody, jsonBody];
