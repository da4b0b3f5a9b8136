// The one error type of the HTTP surface and its envelope `{ error: { code, message, request_id } }`.

export const ERROR_STATUS = {
	invalid_json: 400,
	invalid_request: 400,
	invalid_idempotency_key: 400,
	unauthorized: 401,
	forbidden: 403,
	not_found: 404,
	method_not_allowed: 405,
	idempotency_key_in_use: 409,
	conflict: 409,
	payload_too_large: 413,
	unsupported_media_type: 415,
	validation_error: 422,
	idempotency_key_reused: 422,
	domain_not_verified: 422,
	rate_limited: 429,
	internal_error: 500,
	service_unavailable: 503,
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
