// /v1/api-keys: create (secret shown once), list, revoke, rotate. Requires the `admin` scope.
import { createRoute, z } from "@hono/zod-openapi";
import { createDb } from "../../db/client";
import { API_KEY_SCOPES } from "../../db/schema";
import { createKey, keysOf, revokeKey, rotateKey } from "../../domain/auth/key-admin";
import { ApiError, validationError } from "../../errors";
import { isValidCidr } from "../../lib/cidr";
import type { App } from "../context";
import { authed } from "../middleware/auth";
import {
	authErrors,
	bearerSecurity,
	bodyErrors,
	ErrorEnvelopeSchema,
	IdParamSchema,
	jsonContent,
	notFound,
} from "../schemas/common";

const noWidening = {
	403: jsonContent(
		ErrorEnvelopeSchema,
		"The key lacks the scope or the caller's IP is not allowed, or the key to create or rotate would be more powerful than the calling key (live from test, wider IP allowlist, later expiry)",
	),
} as const;

const ApiKeySchema = z
	.object({
		id: z.string(),
		name: z.string(),
		prefix: z.string().openapi({ example: "mq_live_AbC1" }),
		mode: z.enum(["live", "test"]),
		scopes: z.array(z.enum(API_KEY_SCOPES)),
		ip_allowlist: z.array(z.string()),
		expires_at: z.string().nullable(),
		last_used_at: z.string().nullable(),
		created_at: z.string(),
	})
	.openapi("ApiKey");

const CreatedApiKeySchema = ApiKeySchema.extend({
	key: z.string().openapi({ description: "The secret. Shown only in this response." }),
}).openapi("CreatedApiKey");

const CreateApiKeySchema = z
	.strictObject({
		name: z.string().min(1).max(100),
		mode: z
			.enum(["live", "test"])
			.default("live")
			.openapi({ description: "Test keys always send through the sandbox." }),
		scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).default(["email:send", "email:read"]),
		ip_allowlist: z
			.array(z.string().refine(isValidCidr, { message: "is not an IPv4/IPv6 address or CIDR range" }))
			.max(100)
			.default([]),
		expires_at: z.iso
			.datetime({ offset: true })
			.refine((v) => Date.parse(v) > Date.now(), { message: "must be in the future" })
			.optional(),
	})
	.openapi("CreateApiKeyRequest");

const RotateSchema = z
	.strictObject({
		grace_period_seconds: z
			.number()
			.int()
			.min(0)
			.max(7 * 24 * 3600)
			.default(0)
			.openapi({ description: "How long the old key keeps working; 0 revokes it at once." }),
	})
	.openapi("RotateApiKeyRequest");

const admin = authed("admin");

export function registerApiKeyRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/api-keys",
			tags: ["API keys"],
			summary: "Create an API key",
			security: bearerSecurity,
			middleware: admin,
			request: { body: { required: true, content: { "application/json": { schema: CreateApiKeySchema } } } },
			responses: {
				201: jsonContent(CreatedApiKeySchema, "Created; the secret is in `key`"),
				...authErrors,
				...noWidening,
				...bodyErrors,
			},
		}),
		async (c) => {
			const body = c.req.valid("json");
			const created = await createKey(createDb(c.env.DB), c.var.principal, {
				name: body.name,
				mode: body.mode,
				scopes: [...new Set(body.scopes)],
				ipAllowlist: body.ip_allowlist,
				expiresAt: body.expires_at ? Date.parse(body.expires_at) : null,
			});
			if (!created.ok) throw created.error;
			return c.json(created.value, 201);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/api-keys",
			tags: ["API keys"],
			summary: "List the workspace's active API keys (secrets are never shown)",
			security: bearerSecurity,
			middleware: admin,
			responses: { 200: jsonContent(z.object({ data: z.array(ApiKeySchema) }), "The keys"), ...authErrors },
		}),
		async (c) => c.json({ data: await keysOf(createDb(c.env.DB), c.var.principal.workspaceId) }, 200),
	);

	app.openapi(
		createRoute({
			method: "delete",
			path: "/v1/api-keys/{id}",
			tags: ["API keys"],
			summary: "Revoke an API key",
			security: bearerSecurity,
			middleware: admin,
			request: { params: IdParamSchema },
			responses: {
				200: jsonContent(z.object({ id: z.string(), revoked: z.literal(true) }), "Revoked"),
				...authErrors,
				...notFound,
			},
		}),
		async (c) => {
			const { id } = c.req.valid("param");
			if (!(await revokeKey(createDb(c.env.DB), c.var.principal.workspaceId, id))) {
				throw new ApiError("not_found", "No active API key with this id in this workspace.");
			}
			return c.json({ id, revoked: true as const }, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/api-keys/{id}/rotate",
			tags: ["API keys"],
			summary: "Rotate an API key: a new secret with the same settings",
			security: bearerSecurity,
			middleware: admin,
			request: {
				params: IdParamSchema,
				body: { required: false, content: { "application/json": { schema: RotateSchema } } },
			},
			responses: {
				201: jsonContent(CreatedApiKeySchema, "The new key"),
				...authErrors,
				...noWidening,
				...bodyErrors,
				...notFound,
			},
		}),
		async (c) => {
			const { id } = c.req.valid("param");
			const parsed = RotateSchema.safeParse(c.var.rawBody ? JSON.parse(c.var.rawBody) : {});
			if (!parsed.success) throw validationError(parsed.error.issues);
			const body = parsed.data;
			const rotated = await rotateKey(createDb(c.env.DB), c.var.principal, id, body.grace_period_seconds);
			if (!rotated.ok) throw rotated.error;
			return c.json(rotated.value, 201);
		},
	);
}
