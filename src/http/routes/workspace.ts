// /v1/workspace: the calling key's workspace settings, read and changed with the `admin` scope.
import { createRoute, z } from "@hono/zod-openapi";
import { createDb } from "../../db/client";
import { changeWorkspace, workspaceOf } from "../../domain/workspaces";
import type { App } from "../context";
import { authed } from "../middleware/auth";
import { authErrors, bearerSecurity, bodyErrors, jsonContent, notFound } from "../schemas/common";

const WorkspaceSchema = z
	.object({
		id: z.string(),
		slug: z.string(),
		name: z.string(),
		status: z.enum(["active", "suspended"]),
		sandbox_mode: z.boolean().openapi({
			description:
				"When true, every key of the workspace (live ones too) sends through the sandbox, which captures mail.",
		}),
		created_at: z.string(),
	})
	.openapi("Workspace");

const UpdateWorkspaceSchema = z
	.strictObject({
		name: z.string().trim().min(1).max(100).optional(),
		sandbox_mode: z.boolean().optional(),
	})
	.openapi("UpdateWorkspaceRequest");

const admin = authed("admin");

export function registerWorkspaceRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/workspace",
			tags: ["Workspace"],
			summary: "Get the calling key's workspace and its settings",
			security: bearerSecurity,
			middleware: admin,
			responses: { 200: jsonContent(WorkspaceSchema, "The workspace"), ...authErrors, ...notFound },
		}),
		async (c) => {
			const found = await workspaceOf(createDb(c.env.DB), c.var.principal.workspaceId);
			if (!found.ok) throw found.error;
			return c.json(found.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "patch",
			path: "/v1/workspace",
			tags: ["Workspace"],
			summary: "Change the workspace's settings",
			description:
				"A change to sandbox_mode applies at once in the isolate that made it and within 30 s everywhere (the key cache).",
			security: bearerSecurity,
			middleware: admin,
			request: { body: { required: true, content: { "application/json": { schema: UpdateWorkspaceSchema } } } },
			responses: {
				200: jsonContent(WorkspaceSchema, "The workspace after the change"),
				...authErrors,
				...bodyErrors,
				...notFound,
			},
		}),
		async (c) => {
			const body = c.req.valid("json");
			const changed = await changeWorkspace(createDb(c.env.DB), c.var.principal.workspaceId, {
				name: body.name,
				sandboxMode: body.sandbox_mode,
			});
			if (!changed.ok) throw changed.error;
			return c.json(changed.value, 200);
		},
	);
}
