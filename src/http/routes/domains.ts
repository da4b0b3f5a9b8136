// /v1/domains: add, list, get, change, verify and remove sending domains. Requires the `admin` scope.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createDb } from "../../db/client";
import { verifyDomain } from "../../domain/domain-checks/verify";
import { addDomain, domainOf, domainsOf, removeDomain, updateDomainSettings } from "../../domain/domains";
import { ApiError } from "../../errors";
import type { App, AppEnv } from "../context";
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
import { CreateDomainSchema, DomainSchema, UpdateDomainSchema } from "../schemas/domains";

const admin = authed("admin");
const missing = () => new ApiError("not_found", "No domain with this id in this workspace.");
const view = (c: Context<AppEnv>) => ({ inboundMxHost: c.var.config.INBOUND_MX_HOST });

/** What a DNS check needs, from this request's bindings and config. */
export function checkDeps(c: Context<AppEnv>) {
	const { DOH_URL, DOH_TIMEOUT_MS, INBOUND_MX_HOST } = c.var.config;
	return {
		db: createDb(c.env.DB),
		events: { events: c.env.EVENTS_QUEUE, webhooks: c.env.WEBHOOKS_QUEUE },
		dns: {
			url: DOH_URL,
			timeoutMs: DOH_TIMEOUT_MS,
			fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init),
		},
		inboundMxHost: INBOUND_MX_HOST,
	};
}

export function registerDomainRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/domains",
			tags: ["Domains"],
			summary: "Add a sending domain",
			description:
				"Answers the domain with every record to publish. In development, reserved test names (.test, .example, .invalid, .localhost, example.com/net/org) are verified at once; elsewhere they are refused with 422.",
			security: bearerSecurity,
			middleware: admin,
			request: { body: { required: true, content: { "application/json": { schema: CreateDomainSchema } } } },
			responses: {
				201: jsonContent(DomainSchema, "Added: pending, or verified for a reserved name in development"),
				...alreadyExists,
				...authErrors,
				...bodyErrors,
			},
		}),
		async (c) => {
			const body = c.req.valid("json");
			const added = await addDomain(
				createDb(c.env.DB),
				c.var.principal.workspaceId,
				{ name: body.name, includeSubdomains: body.include_subdomains },
				{ ...view(c), development: c.var.config.ENVIRONMENT === "development", now: Date.now() },
			);
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
		async (c) => c.json({ data: await domainsOf(createDb(c.env.DB), c.var.principal.workspaceId, view(c)) }, 200),
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/domains/{id}",
			tags: ["Domains"],
			summary: "Get a sending domain with its records and their last check",
			security: bearerSecurity,
			middleware: admin,
			request: { params: IdParamSchema },
			responses: { 200: jsonContent(DomainSchema, "The domain"), ...authErrors, ...notFound },
		}),
		async (c) => {
			const found = await domainOf(createDb(c.env.DB), c.var.principal.workspaceId, c.req.valid("param").id, view(c));
			if (!found) throw missing();
			return c.json(found, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "patch",
			path: "/v1/domains/{id}",
			tags: ["Domains"],
			summary: "Change whether subdomains may send",
			security: bearerSecurity,
			middleware: admin,
			request: {
				params: IdParamSchema,
				body: { required: true, content: { "application/json": { schema: UpdateDomainSchema } } },
			},
			responses: { 200: jsonContent(DomainSchema, "The domain"), ...authErrors, ...bodyErrors, ...notFound },
		}),
		async (c) => {
			const body = c.req.valid("json");
			const id = c.req.valid("param").id;
			const db = createDb(c.env.DB);
			const changes = { includeSubdomains: body.include_subdomains };
			const updated = await updateDomainSettings(db, c.var.principal.workspaceId, id, changes, view(c));
			if (!updated) throw missing();
			return c.json(updated, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/domains/{id}/verify",
			tags: ["Domains"],
			summary: "Check the domain's records over DNS now",
			description:
				"Looks every record up over DNS-over-HTTPS and answers the domain with each record's status (and what was found when it is wrong). The ownership TXT found → verified at once. A resolver failure (SERVFAIL, timeout) marks records try_later and changes nothing.",
			security: bearerSecurity,
			middleware: admin,
			request: { params: IdParamSchema },
			responses: { 200: jsonContent(DomainSchema, "The domain after the check"), ...authErrors, ...notFound },
		}),
		async (c) => {
			const checked = await verifyDomain(
				checkDeps(c),
				c.var.principal.workspaceId,
				c.req.valid("param").id,
				Date.now(),
			);
			if (!checked) throw missing();
			return c.json(checked, 200);
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
			if (!(await removeDomain(createDb(c.env.DB), c.var.principal.workspaceId, id))) throw missing();
			return c.json({ id, deleted: true as const }, 200);
		},
	);
}
