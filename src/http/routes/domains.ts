// /v1/domains: add, list, get and remove sending domains. Requires the `admin` scope.
import { createRoute, z } from "@hono/zod-openapi";
import { createDb } from "../../db/client";
import { addDomain, DOMAIN_NAME, domainOf, domainsOf, removeDomain } from "../../domain/domains";
import { ApiError } from "../../errors";
import type { App } from "../context";
import { authed } from "../middleware/auth";
import {
	alreadyExists,
	authErrors,
	bearerSecurity,
	bodyErrors,
	IdParamSchema,
	jsonContent,
	notFound,
} from "../schemas/common";

const DomainSchema = z
	.object({
		id: z.string(),
		name: z.string().openapi({ example: "example.test" }),
		status: z.enum(["pending", "verified", "failed"]),
		dns_records: z.array(z.object({ type: z.literal("TXT"), name: z.string(), value: z.string() })),
		verified_at: z.string().nullable(),
		created_at: z.string(),
	})
	.openapi("Domain");

const CreateDomainSchema = z
	.strictObject({
		name: z
			.string()
			.transform((v) => v.trim().toLowerCase())
			.refine((v) => DOMAIN_NAME.test(v), { message: "is not a valid domain name" }),
	})
	.openapi("CreateDomainRequest");

const admin = authed("admin");

export function registerDomainRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/domains",
			tags: ["Domains"],
			summary: "Add a sending domain",
			security: bearerSecurity,
			middleware: admin,
			request: { body: { required: true, content: { "application/json": { schema: CreateDomainSchema } } } },
			responses: {
				201: jsonContent(DomainSchema, "Added, pending verification"),
				...alreadyExists,
				...authErrors,
				...bodyErrors,
			},
		}),
		async (c) => {
			const added = await addDomain(createDb(c.env.DB), c.var.principal.workspaceId, c.req.valid("json").name);
			if (!added.ok) throw added.error;
			return c.json(added.value, 201);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/domains",
			tags: ["Domains"],
			summary: "List sending domains",
			security: bearerSecurity,
			middleware: admin,
			responses: { 200: jsonContent(z.object({ data: z.array(DomainSchema) }), "The domains"), ...authErrors },
		}),
		async (c) => c.json({ data: await domainsOf(createDb(c.env.DB), c.var.principal.workspaceId) }, 200),
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/domains/{id}",
			tags: ["Domains"],
			summary: "Get a sending domain",
			security: bearerSecurity,
			middleware: admin,
			request: { params: IdParamSchema },
			responses: { 200: jsonContent(DomainSchema, "The domain"), ...authErrors, ...notFound },
		}),
		async (c) => {
			const found = await domainOf(createDb(c.env.DB), c.var.principal.workspaceId, c.req.valid("param").id);
			if (!found) throw new ApiError("not_found", "No domain with this id in this workspace.");
			return c.json(found, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "delete",
			path: "/v1/domains/{id}",
			tags: ["Domains"],
			summary: "Remove a sending domain",
			security: bearerSecurity,
			middleware: admin,
			request: { params: IdParamSchema },
			responses: {
				200: jsonContent(z.object({ id: z.string(), deleted: z.literal(true) }), "Removed"),
				...authErrors,
				...notFound,
			},
		}),
		async (c) => {
			const { id } = c.req.valid("param");
			if (!(await removeDomain(createDb(c.env.DB), c.var.principal.workspaceId, id))) {
				throw new ApiError("not_found", "No domain with this id in this workspace.");
			}
			return c.json({ id, deleted: true as const }, 200);
		},
	);
}
