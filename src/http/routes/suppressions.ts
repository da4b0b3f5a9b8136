// /v1/suppressions: the workspace's suppression list (docs/suppressions.md), `suppression:manage` scope.
// Registers the platform's list too (./platform-suppressions.ts), which shares the schemas.
import { createRoute, z } from "@hono/zod-openapi";
import { addSuppressions, removeSuppression, suppressionOf, suppressionsOf } from "../../domain/suppressions/list";
import { putSuppressionSettings, suppressionSettingsOf } from "../../domain/suppressions/settings";
import type { App } from "../context";
import { authed } from "../middleware/auth";
import { authErrors, bearerSecurity, bodyErrors, jsonContent, notFound } from "../schemas/common";
import {
	AddSuppressionsSchema,
	EmailParamSchema,
	entriesOf,
	filterOf,
	SuppressionListQuerySchema,
	SuppressionListSchema,
	SuppressionSchema,
} from "../schemas/suppressions";

const manage = authed("suppression:manage");

const SettingsSchema = z
	.strictObject({
		soft_bounce_limit: z
			.number()
			.int()
			.min(0)
			.max(100)
			.openapi({ description: "Soft bounces within the window that suppress an address; 0 never does." }),
		soft_bounce_window_days: z.number().int().min(1).max(365),
	})
	.openapi("SuppressionSettings");
const TAGS = ["Suppressions"];

export function registerSuppressionRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/suppression-settings",
			tags: TAGS,
			summary: "The soft-bounce rule of automatic suppression",
			security: bearerSecurity,
			middleware: manage,
			responses: { 200: jsonContent(SettingsSchema, "The rule (defaults: 3 in 7 days)"), ...authErrors, ...notFound },
		}),
		async (c) => {
			const found = await suppressionSettingsOf(c.env.DB, c.var.principal.workspaceId);
			if (!found.ok) throw found.error;
			return c.json(found.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "put",
			path: "/v1/suppression-settings",
			tags: TAGS,
			summary: "Change the soft-bounce rule of automatic suppression",
			security: bearerSecurity,
			middleware: manage,
			request: { body: { required: true, content: { "application/json": { schema: SettingsSchema } } } },
			responses: { 200: jsonContent(SettingsSchema, "The rule"), ...authErrors, ...bodyErrors, ...notFound },
		}),
		async (c) => {
			const put = await putSuppressionSettings(c.env.DB, c.var.principal.workspaceId, c.req.valid("json"));
			if (!put.ok) throw put.error;
			return c.json(put.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/suppressions",
			tags: TAGS,
			summary: "Add addresses to the suppression list",
			description:
				"One entry or a list of up to 1000. An address already on the list takes the new reason and expiry. Matching is whole-address and case-insensitive.",
			security: bearerSecurity,
			middleware: manage,
			request: { body: { required: true, content: { "application/json": { schema: AddSuppressionsSchema } } } },
			responses: {
				201: jsonContent(z.object({ data: z.array(SuppressionSchema) }), "The entries as stored"),
				...authErrors,
				...bodyErrors,
			},
		}),
		async (c) => {
			const owner = { workspaceId: c.var.principal.workspaceId };
			const data = await addSuppressions(c.env.DB, owner, entriesOf(c.req.valid("json")));
			return c.json({ data }, 201);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/suppressions",
			tags: TAGS,
			summary: "List the suppression list, newest first",
			security: bearerSecurity,
			middleware: manage,
			request: { query: SuppressionListQuerySchema },
			responses: { 200: jsonContent(SuppressionListSchema, "A page of entries"), ...authErrors, ...bodyErrors },
		}),
		async (c) => {
			const q = c.req.valid("query");
			const owner = { workspaceId: c.var.principal.workspaceId };
			return c.json(await suppressionsOf(c.env.DB, owner, filterOf(q), q.limit), 200);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/suppressions/{email}",
			tags: TAGS,
			summary: "Get one address's entry",
			security: bearerSecurity,
			middleware: manage,
			request: { params: EmailParamSchema },
			responses: { 200: jsonContent(SuppressionSchema, "The entry"), ...authErrors, ...bodyErrors, ...notFound },
		}),
		async (c) => {
			const owner = { workspaceId: c.var.principal.workspaceId };
			const found = await suppressionOf(c.env.DB, owner, c.req.valid("param").email);
			if (!found.ok) throw found.error;
			return c.json(found.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "delete",
			path: "/v1/suppressions/{email}",
			tags: TAGS,
			summary: "Remove an address from the suppression list",
			description: "The next send to it goes out (unless the platform's list has it).",
			security: bearerSecurity,
			middleware: manage,
			request: { params: EmailParamSchema },
			responses: { 204: { description: "Removed" }, ...authErrors, ...bodyErrors, ...notFound },
		}),
		async (c) => {
			const owner = { workspaceId: c.var.principal.workspaceId };
			const removed = await removeSuppression(c.env.DB, owner, c.req.valid("param").email);
			if (!removed.ok) throw removed.error;
			return c.body(null, 204);
		},
	);
}
