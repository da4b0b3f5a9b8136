// Schemas shared by every route: the error envelope and pagination.
import { z } from "@hono/zod-openapi";

export const ErrorEnvelopeSchema = z
	.object({
		error: z.object({
			code: z.string().openapi({ example: "validation_error" }),
			message: z.string().openapi({ example: 'to.0: "nobody" is not a valid email address' }),
			request_id: z.string(),
			details: z
				.array(z.object({ path: z.string().optional(), index: z.number().optional(), message: z.string() }))
				.optional(),
		}),
	})
	.openapi("Error");

/** A JSON response of `schema`, for createRoute's responses. */
export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
	description,
	content: { "application/json": { schema } },
});

const errorResponse = (description: string) => jsonContent(ErrorEnvelopeSchema, description);

/** The error responses every authenticated route can give. */
export const authErrors = {
	401: errorResponse("Missing, malformed, invalid, revoked or expired API key"),
	403: errorResponse("The key lacks the scope, or the caller's IP is not in the key's allowlist"),
} as const;

export const bodyErrors = {
	400: errorResponse("The body is not valid JSON"),
	413: errorResponse("The body is larger than the configured limit (default 10 MB)"),
	415: errorResponse("The body is not JSON"),
	422: errorResponse("The body fails validation"),
} as const;

export const notFound = { 404: errorResponse("No such resource in this workspace") } as const;
export const alreadyExists = { 409: errorResponse("The resource already exists in this workspace") } as const;
export const conflict = { 409: errorResponse("A request with this Idempotency-Key is still in flight") } as const;
export const unavailable = { 503: errorResponse("A dependency is unavailable; nothing was accepted") } as const;

export const CursorQuerySchema = z.object({
	limit: z.coerce
		.number()
		.int()
		.min(1)
		.max(100)
		.default(20)
		.openapi({ param: { name: "limit", in: "query" } }),
	cursor: z
		.string()
		.max(200)
		.optional()
		.openapi({ param: { name: "cursor", in: "query" } }),
});

export const IdempotencyHeaderSchema = z.object({
	"idempotency-key": z
		.string()
		.optional()
		.openapi({
			param: { name: "idempotency-key", in: "header" },
			description: "Up to 256 visible ASCII characters; the response is replayed for 24 h.",
		}),
});

export const bearerSecurity = [{ bearerAuth: [] }];

export const IdParamSchema = z.object({
	id: z
		.string()
		.max(64)
		.openapi({ param: { name: "id", in: "path" } }),
});
