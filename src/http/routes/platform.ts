// /v1/platform/*: the operators' API for the workspaces of a deployment, authenticated by the
// PLATFORM_TOKEN secret (middleware/platform-auth.ts), never by a workspace key. See docs/operations.md.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createDb } from "../../db/client";
import {
	changePlatformWorkspace,
	createPlatformKey,
	createWorkspace,
	deletePlatformWorkspace,
	getPlatformWorkspace,
	listPlatformWorkspaces,
	type Origin,
} from "../../domain/platform/workspaces";
import { validationError } from "../../errors";
import type { App, AppEnv } from "../context";
import { platformAuthed } from "../middleware/platform-auth";
import { bodyErrors, ErrorEnvelopeSchema, jsonContent } from "../schemas/common";
import {
	CreatedWorkspaceSchema,
	CreateKeySchema,
	CreateWorkspaceSchema,
	ListQuerySchema,
	PlatformKeySchema,
	PlatformWorkspaceSchema,
	platformErrors,
	platformSecurity,
	UpdateWorkspaceSchema,
	WorkspaceRefSchema,
} from "../schemas/platform";
import { registerPlatformDomainRoutes } from "./platform-domains";

const TAGS = ["Platform"];
const notFound = { 404: jsonContent(ErrorEnvelopeSchema, "No workspace with this id or slug") } as const;
const conflict = (description: string) => ({ 409: jsonContent(ErrorEnvelopeSchema, description) }) as const;

const origin = (c: Context<AppEnv>): Origin => ({
	ip: c.req.header("cf-connecting-ip") ?? null,
	userAgent: c.req.header("user-agent") ?? null,
});

export function registerPlatformRoutes(app: App): void {
	// The operator override of a workspace's sending domain (docs/domains.md) shares the platform guard.
	registerPlatformDomainRoutes(app, platformAuthed);
	app.openAPIRegistry.registerComponent("securitySchemes", "platformToken", {
		type: "http",
		scheme: "bearer",
		description: "The deployment's PLATFORM_TOKEN secret (`mq_platform_…`); only /v1/platform/* accepts it.",
	});

	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/platform/workspaces",
			tags: TAGS,
			summary: "Create a workspace and its first admin key",
			description: "The key's secret is in `api_key.key`, shown only in this response.",
			security: platformSecurity,
			middleware: platformAuthed,
			request: { body: { required: true, content: { "application/json": { schema: CreateWorkspaceSchema } } } },
			responses: {
				201: jsonContent(CreatedWorkspaceSchema, "Created"),
				...platformErrors,
				...bodyErrors,
				...conflict("The slug is taken"),
			},
		}),
		async (c) => {
			const body = c.req.valid("json");
			const created = await createWorkspace(
				createDb(c.env.DB),
				{ slug: body.slug, name: body.name ?? body.slug, sandboxMode: body.sandbox_mode, limits: body.limits },
				origin(c),
			);
			if (!created.ok) throw created.error;
			return c.json(created.value, 201);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/platform/workspaces",
			tags: TAGS,
			summary: "List workspaces, newest first",
			security: platformSecurity,
			middleware: platformAuthed,
			request: { query: ListQuerySchema },
			responses: {
				200: jsonContent(
					z.object({
						data: z.array(PlatformWorkspaceSchema),
						has_more: z.boolean(),
						next_cursor: z.string().nullable(),
					}),
					"A page of workspaces",
				),
				...platformErrors,
				422: jsonContent(ErrorEnvelopeSchema, "A query parameter fails validation"),
			},
		}),
		async (c) => {
			const q = c.req.valid("query");
			const page = await listPlatformWorkspaces(
				createDb(c.env.DB),
				{ status: q.status, q: q.q, beforeId: q.cursor },
				q.limit,
			);
			return c.json(page, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/platform/workspaces/{id}",
			tags: TAGS,
			summary: "Get a workspace (by id or slug), with its deletion progress if any",
			security: platformSecurity,
			middleware: platformAuthed,
			request: { params: WorkspaceRefSchema },
			responses: { 200: jsonContent(PlatformWorkspaceSchema, "The workspace"), ...platformErrors, ...notFound },
		}),
		async (c) => {
			const found = await getPlatformWorkspace(createDb(c.env.DB), c.req.valid("param").id);
			if (!found.ok) throw found.error;
			return c.json(found.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "patch",
			path: "/v1/platform/workspaces/{id}",
			tags: TAGS,
			summary: "Change a workspace: name, sandbox mode, suspension, platform limits",
			description:
				"Suspension takes effect at once in the isolate that made it and within 30 s everywhere; held mail is sent within 5 minutes of resumption.",
			security: platformSecurity,
			middleware: platformAuthed,
			request: {
				params: WorkspaceRefSchema,
				body: { required: true, content: { "application/json": { schema: UpdateWorkspaceSchema } } },
			},
			responses: {
				200: jsonContent(PlatformWorkspaceSchema, "The workspace after the change"),
				...platformErrors,
				...bodyErrors,
				...notFound,
				...conflict("The workspace is being deleted"),
			},
		}),
		async (c) => {
			const body = c.req.valid("json");
			const changed = await changePlatformWorkspace(
				createDb(c.env.DB),
				c.req.valid("param").id,
				{ name: body.name, sandboxMode: body.sandbox_mode, suspended: body.suspended, limits: body.limits },
				origin(c),
			);
			if (!changed.ok) throw changed.error;
			return c.json(changed.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "delete",
			path: "/v1/platform/workspaces/{id}",
			tags: TAGS,
			summary: "Delete a workspace: suspended at once, purged by the cron in bounded batches",
			description:
				"GET shows the purge's progress in `deletion` until the workspace is gone (then 404). Repeating the request changes nothing.",
			security: platformSecurity,
			middleware: platformAuthed,
			request: { params: WorkspaceRefSchema },
			responses: {
				202: jsonContent(PlatformWorkspaceSchema, "Suspended and marked for deletion"),
				...platformErrors,
				...notFound,
			},
		}),
		async (c) => {
			const deleted = await deletePlatformWorkspace(createDb(c.env.DB), c.req.valid("param").id, origin(c));
			if (!deleted.ok) throw deleted.error;
			return c.json(deleted.value, 202);
		},
	);

	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/platform/workspaces/{id}/api-keys",
			tags: TAGS,
			summary: "Create an API key in a workspace (default: a live admin key)",
			description: "For a workspace whose admins lost their keys. The secret is in `key`, shown only here.",
			security: platformSecurity,
			middleware: platformAuthed,
			request: {
				params: WorkspaceRefSchema,
				body: { required: false, content: { "application/json": { schema: CreateKeySchema } } },
			},
			responses: {
				201: jsonContent(PlatformKeySchema, "Created"),
				...platformErrors,
				...bodyErrors,
				...notFound,
				...conflict("The workspace is being deleted"),
			},
		}),
		async (c) => {
			const parsed = CreateKeySchema.safeParse(c.var.rawBody ? JSON.parse(c.var.rawBody) : {});
			if (!parsed.success) throw validationError(parsed.error.issues);
			const body = parsed.data;
			const created = await createPlatformKey(
				createDb(c.env.DB),
				c.req.valid("param").id,
				{ name: body.name, mode: body.mode, scopes: [...new Set(body.scopes)] },
				origin(c),
			);
			if (!created.ok) throw created.error;
			return c.json(created.value, 201);
		},
	);
}
