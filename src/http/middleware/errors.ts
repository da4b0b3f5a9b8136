// One envelope for every 4xx/5xx: thrown ApiErrors, Hono's own HTTP exceptions, validation failures,
// unknown routes and anything unexpected.
import type { Hook } from "@hono/zod-openapi";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, type ErrorCode, envelope, validationError } from "../../errors";
import { errorSummary } from "../../lib/log";
import type { AppEnv } from "../context";

const CODE_BY_STATUS: Record<number, ErrorCode> = {
	400: "invalid_request",
	401: "unauthorized",
	403: "forbidden",
	404: "not_found",
	405: "method_not_allowed",
	409: "conflict",
	413: "payload_too_large",
	415: "unsupported_media_type",
	422: "validation_error",
	429: "rate_limited",
	503: "service_unavailable",
};

function requestIdOf(c: Context<AppEnv>): string {
	return c.get("requestId") ?? "unknown";
}

export function respondError(c: Context<AppEnv>, error: ApiError) {
	c.header("X-Request-Id", requestIdOf(c));
	return c.json(envelope(error, requestIdOf(c)), error.status);
}

export const onError: ErrorHandler<AppEnv> = (error, c) => {
	if (error instanceof ApiError) return respondError(c, error);
	if (error instanceof HTTPException) {
		const code = CODE_BY_STATUS[error.status] ?? "internal_error";
		const message =
			error.status === 415 ? "Send the body as JSON with Content-Type: application/json." : error.message || code;
		return respondError(c, new ApiError(code, message));
	}
	// The stack's frames without its first line, which repeats the message; the message itself goes
	// through errorSummary so an address or key quoted in it is not logged.
	console.error("unhandled error", {
		requestId: requestIdOf(c),
		workspaceId: c.get("principal")?.workspaceId,
		error: errorSummary(error),
		stack: error instanceof Error ? error.stack?.split("\n").slice(1, 8).join("\n") : undefined,
	});
	return respondError(c, new ApiError("internal_error", "Something went wrong on our side; nothing was accepted."));
};

export const notFound: NotFoundHandler<AppEnv> = (c) =>
	respondError(c, new ApiError("not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`));

/** zod-openapi's hook: a failed request schema answers 422 with every issue listed. */
export const validationHook: Hook<unknown, AppEnv, string, unknown> = (result, c) => {
	if (!result.success) return respondError(c, validationError(result.error.issues));
};
