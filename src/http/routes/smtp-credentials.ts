// /v1/smtp-credentials: SMTP logins for apps that cannot use an API key as the password (seed 003's
// accounts). Create (password shown once), list, get, revoke; scope `smtp:manage`.
import { createRoute, z } from "@hono/zod-openapi";
import { createDb } from "../../db/client";
import {
	createSmtpCredential,
	revokeCredential,
	smtpCredential,
	smtpCredentialsOf,
} from "../../domain/auth/smtp-credentials";
import { ApiError } from "../../errors";
import type { App } from "../context";
import { authed } from "../middleware/auth";
import { authErrors, bearerSecurity, bodyErrors, IdParamSchema, jsonContent, notFound } from "../schemas/common";

const SmtpCredentialSchema = z
	.object({
		id: z.string(),
		name: z.string(),
		username: z.string().openapi({ example: "smtp_q3k9x0a1b2c3d4e5" }),
		mode: z.enum(["live", "test"]),
		allowed_domains: z.array(z.string()),
		last_used_at: z.string().nullable(),
		created_at: z.string(),
	})
	.openapi("SmtpCredential");

const CreatedSmtpCredentialSchema = SmtpCredentialSchema.extend({
	password: z.string().openapi({ description: "The SMTP password. Shown only in this response." }),
}).openapi("CreatedSmtpCredential");

const CreateSmtpCredentialSchema = z
	.strictObject({
		name: z.string().min(1).max(100),
		mode: z
			.enum(["live", "test"])
			.default("live")
			.openapi({ description: "Test credentials always send to the sandbox." }),
		allowed_domains: z
			.array(z.string().min(1).max(253))
			.max(100)
			.default([])
			.openapi({ description: "Verified domains this login may send from; empty: all of the workspace's." }),
	})
	.openapi("CreateSmtpCredentialRequest");

const manage = authed("smtp:manage");

export function registerSmtpCredentialRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/smtp-credentials",
			tags: ["SMTP"],
			summary: "Create an SMTP credential",
			description: "The user name and password for an SMTP client of the bridge. The password is shown only once.",
			security: bearerSecurity,
			middleware: manage,
			request: { body: { required: true, content: { "application/json": { schema: CreateSmtpCredentialSchema } } } },
			responses: {
				201: jsonContent(CreatedSmtpCredentialSchema, "Created; the password is in `password`"),
				...authErrors,
				...bodyErrors,
			},
		}),
		async (c) => {
			const body = c.req.valid("json");
			const created = await createSmtpCredential(createDb(c.env.DB), c.var.principal, {
				name: body.name,
				mode: body.mode,
				allowedDomains: body.allowed_domains,
			});
			if (!created.ok) throw created.error;
			return c.json(created.value, 201);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/smtp-credentials",
			tags: ["SMTP"],
			summary: "List the workspace's active SMTP credentials (passwords are never shown)",
			security: bearerSecurity,
			middleware: manage,
			responses: {
				200: jsonContent(z.object({ data: z.array(SmtpCredentialSchema) }), "The credentials"),
				...authErrors,
			},
		}),
		async (c) => c.json({ data: await smtpCredentialsOf(createDb(c.env.DB), c.var.principal.workspaceId) }, 200),
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/smtp-credentials/{id}",
			tags: ["SMTP"],
			summary: "Get an SMTP credential",
			security: bearerSecurity,
			middleware: manage,
			request: { params: IdParamSchema },
			responses: { 200: jsonContent(SmtpCredentialSchema, "The credential"), ...authErrors, ...notFound },
		}),
		async (c) => {
			const found = await smtpCredential(createDb(c.env.DB), c.var.principal.workspaceId, c.req.valid("param").id);
			if (!found) throw new ApiError("not_found", "No active SMTP credential with this id in this workspace.");
			return c.json(found, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "delete",
			path: "/v1/smtp-credentials/{id}",
			tags: ["SMTP"],
			summary: "Revoke an SMTP credential",
			security: bearerSecurity,
			middleware: manage,
			request: { params: IdParamSchema },
			responses: {
				200: jsonContent(z.object({ id: z.string(), revoked: z.literal(true) }), "Revoked"),
				...authErrors,
				...notFound,
			},
		}),
		async (c) => {
			const { id } = c.req.valid("param");
			if (!(await revokeCredential(createDb(c.env.DB), c.var.principal.workspaceId, id))) {
				throw new ApiError("not_found", "No active SMTP credential with this id in this workspace.");
			}
			return c.json({ id, revoked: true as const }, 200);
		},
	);
}
