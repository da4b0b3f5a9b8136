// /v1/inbound-routes: which received mail is stored and posted to which webhook (docs/inbound.md).
// Requires the `admin` scope. The route's signing secret is answered once, on create and on rotate.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createDb } from "../../db/client";
import { changeRoute, createInboundRoute, getRoute, listRoutes, removeRoute } from "../../domain/inbound/routes";
import { ApiError } from "../../errors";
import type { App, AppEnv } from "../context";
import { authed } from "../middleware/auth";
import {
	alreadyExists,
	authErrors,
	bearerSecurity,
	bodyErrors,
	CursorQuerySchema,
	IdParamSchema,
	jsonContent,
	notFound,
} from "../schemas/common";

const admin = authed("admin");
const missing = () => new ApiError("not_found", "No inbound route with this id in this workspace.");

const InboundRouteSchema = z
	.object({
		id: z.string(),
		match: z.string().openapi({ description: "The address, or the domain for a catch-all route" }),
		address: z.string().nullable(),
		domain: z.string(),
		webhook_url: z.string().nullable().openapi({ description: "Null: mail is stored only" }),
		enabled: z.boolean(),
		created_at: z.string(),
		updated_at: z.string(),
	})
	.openapi("InboundRoute");

const WithSecretSchema = InboundRouteSchema.extend({
	secret: z.string().openapi({ description: "whsec_… Standard Webhooks signing secret; shown only now" }),
}).openapi("InboundRouteWithSecret");

const CreateSchema = z
	.strictObject({
		match: z.string().min(3).max(320).openapi({
			description: "An address (support@example.com) or a domain (example.com) of a verified domain",
			example: "support@example.com",
		}),
		webhook_url: z.string().max(2048).nullable().default(null),
		enabled: z.boolean().default(true),
	})
	.openapi("CreateInboundRoute");

const UpdateSchema = z
	.strictObject({
		webhook_url: z.string().max(2048).nullable().optional(),
		enabled: z.boolean().optional(),
		rotate_secret: z.boolean().optional().openapi({ description: "Issue a new signing secret (answered once)" }),
	})
	.openapi("UpdateInboundRoute");

const deps = (c: Context<AppEnv>) => ({
	db: createDb(c.env.DB),
	encryptionKey: c.var.config.ENCRYPTION_KEY,
	environment: c.var.config.ENVIRONMENT,
});

const tags = ["Inbound"];

export function registerInboundRouteRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/inbound-routes",
			tags,
			summary: "Route received mail for an address or domain to a webhook (or storage only)",
			security: bearerSecurity,
			middleware: admin,
			request: { body: { required: true, content: { "application/json": { schema: CreateSchema } } } },
			responses: {
				201: jsonContent(WithSecretSchema, "Created; the secret is shown only in this answer"),
				...alreadyExists,
				...authErrors,
				...bodyErrors,
			},
		}),
		async (c) => {
			const body = c.req.valid("json");
			const created = await createInboundRoute(deps(c), c.var.principal.workspaceId, {
				match: body.match,
				webhookUrl: body.webhook_url,
				enabled: body.enabled,
			});
			if (!created.ok) throw created.error;
			return c.json({ ...created.value.route, secret: created.value.secret }, 201);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/inbound-routes",
			tags,
			summary: "List inbound routes, newest first",
			security: bearerSecurity,
			middleware: admin,
			request: { query: CursorQuerySchema },
			responses: {
				200: jsonContent(
					z.object({ data: z.array(InboundRouteSchema), has_more: z.boolean(), next_cursor: z.string().nullable() }),
					"A page of routes",
				),
				...authErrors,
			},
		}),
		async (c) => {
			const q = c.req.valid("query");
			return c.json(await listRoutes(deps(c), c.var.principal.workspaceId, q.limit, q.cursor), 200);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/inbound-routes/{id}",
			tags,
			summary: "Get an inbound route",
			security: bearerSecurity,
			middleware: admin,
			request: { params: IdParamSchema },
			responses: { 200: jsonContent(InboundRouteSchema, "The route"), ...authErrors, ...notFound },
		}),
		async (c) => {
			const found = await getRoute(deps(c), c.var.principal.workspaceId, c.req.valid("param").id);
			if (!found) throw missing();
			return c.json(found, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "patch",
			path: "/v1/inbound-routes/{id}",
			tags,
			summary: "Change an inbound route's webhook, enable or disable it, or rotate its secret",
			security: bearerSecurity,
			middleware: admin,
			request: {
				params: IdParamSchema,
				body: { required: true, content: { "application/json": { schema: UpdateSchema } } },
			},
			responses: {
				200: jsonContent(
					InboundRouteSchema.extend({ secret: z.string().optional() }),
					"The route (with `secret` when rotated)",
				),
				...authErrors,
				...bodyErrors,
				...notFound,
			},
		}),
		async (c) => {
			const body = c.req.valid("json");
			const changed = await changeRoute(deps(c), c.var.principal.workspaceId, c.req.valid("param").id, {
				webhookUrl: body.webhook_url,
				enabled: body.enabled,
				rotateSecret: body.rotate_secret === true,
			});
			if (!changed.ok) throw changed.error;
			if (!changed.value) throw missing();
			return c.json({ ...changed.value.route, ...(changed.value.secret ? { secret: changed.value.secret } : {}) }, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "delete",
			path: "/v1/inbound-routes/{id}",
			tags,
			summary: "Delete an inbound route (mail to it is refused from now on)",
			security: bearerSecurity,
			middleware: admin,
			request: { params: IdParamSchema },
			responses: { 204: { description: "Deleted" }, ...authErrors, ...notFound },
		}),
		async (c) => {
			if (!(await removeRoute(deps(c), c.var.principal.workspaceId, c.req.valid("param").id))) throw missing();
			return c.body(null, 204);
		},
	);
}
