// The one error type, shared by the domain and the HTTP surface, with its codes and their statuses,
// and the envelope `{ error: { code, message, request_id } }` HTTP maps it to.
import type { z } from "zod";

export const ERROR_STATUS = {
	invalid_json: 400,
	invalid_request: 400,
	invalid_idempotency_key: 400,
	unauthorized: 401,
	forbidden: 403,
	workspace_suspended: 403,
	not_found: 404,
	/** A signed link (inbound attachment download) past its expiry. */
	link_expired: 410,
	method_not_allowed: 405,
	idempotency_key_in_use: 409,
	conflict: 409,
	payload_too_large: 413,
	unsupported_media_type: 415,
	validation_error: 422,
	/** Inbound mail the relay will not take (the SMTP bridge answers 550 with the reply in `details`). */
	mail_refused: 422,
	idempotency_key_reused: 422,
	domain_not_verified: 422,
	header_not_allowed: 422,
	rate_limited: 429,
	internal_error: 500,
	service_unavailable: 503,
	platform_not_configured: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

export type ErrorDetail = { path?: string; index?: number; message: string };

export class ApiError extends Error {
	readonly status: ErrorStatus;

	constructor(
		readonly code: ErrorCode,
		message: string,
		readonly details?: ErrorDetail[],
	) {
		super(message);
		this.status = ERROR_STATUS[code];
	}
}

export type ErrorEnvelope = {
	error: { code: ErrorCode; message: string; request_id: string; details?: ErrorDetail[] };
};

export function envelope(error: ApiError, requestId: string): ErrorEnvelope {
	return {
		error: {
			code: error.code,
			message: error.message,
			request_id: requestId,
			...(error.details ? { details: error.details } : {}),
		},
	};
}

/** Domain results: expected failures are values, not throws (STYLE.md rule 3). */
export type Result<T, E = ApiError> = { ok: true; value: T } | { ok: false; error: E };
export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

export function describeIssues(issues: readonly z.core.$ZodIssue[]): { path: string; message: string }[] {
	return issues.map((issue) => {
		const path = issue.path.map(String).join(".");
		const message = issue.code === "unrecognized_keys" ? `unknown field(s): ${issue.keys.join(", ")}` : issue.message;
		return { path, message };
	});
}

/** A failed schema as one 422: the first issue in the message, every issue in `details`. */
export function validationError(issues: readonly z.core.$ZodIssue[], prefix = ""): ApiError {
	const details = describeIssues(issues);
	const first = details[0];
	const summary = first ? `${prefix}${first.path ? `${first.path}: ` : ""}${first.message}` : "invalid request";
	return new ApiError(
		"validation_error",
		details.length > 1 ? `${summary} (and ${details.length - 1} more)` : summary,
		details,
	);
}
