// /v1/platform/suppressions: the platform-wide suppression list (docs/suppressions.md), which skips
// an address in every workspace; PLATFORM_TOKEN only, like the rest of /v1/platform/*.
import { createRoute, z } from "@hono/zod-openapi";
import { addSuppressions, removeSuppression, suppressionOf, suppressionsOf } from "../../domain/suppressions/list";
import type { App } from "../context";
import { platformAuthed } from "../middleware/platform-auth";
import { bodyErrors, jsonContent, notFound } from "../schemas/common";
import { platformErrors, platformSecurity } from "../schemas/platform";
import {
	AddSuppressionsSchema,
	EmailParamSchema,
	entriesOf,
	filterOf,
	SuppressionListQuerySchema,
	SuppressionListSchema,
	SuppressionSchema,
} from "../schemas/suppressions";

const PLATFORM = { workspaceId: null };
const TAGS = ["Platform"];

export function registerPlatformSuppressionRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/platform/suppressions",
			tags: TAGS,
			summary: "Add addresses to the platform-wide suppression list",
			description:
				"One entry or a list of up to 1000. An address already on the list takes the new reason and expiry. Matching is whole-address and case-insensitive.",
			security: platformSecurity,
			middleware: platformAuthed,
			request: { body: { required: true, content: { "application/json": { schema: AddSuppressionsSchema } } } },
			responses: {
				201: jsonContent(z.object({ data: z.array(SuppressionSchema) }), "The entries as stored"),
				...platformErrors,
				...bodyErrors,
			},
		}),
		async (c) => {
			const data = await addSuppressions(c.env.DB, PLATFORM, entriesOf(c.req.valid("json")));
			return c.json({ data }, 201);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/platform/suppressions",
			tags: TAGS,
			summary: "List the platform-wide suppression list, newest first",
			security: platformSecurity,
			middleware: platformAuthed,
			request: { query: SuppressionListQuerySchema },
			responses: { 200: jsonContent(SuppressionListSchema, "A page of entries"), ...platformErrors, ...bodyErrors },
		}),
		async (c) => {
			const q = c.req.valid("query");
			return c.json(await suppressionsOf(c.env.DB, PLATFORM, filterOf(q), q.limit), 200);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/platform/suppressions/{email}",
			tags: TAGS,
			summary: "Get one address's platform-wide entry",
			security: platformSecurity,
			middleware: platformAuthed,
			request: { params: EmailParamSchema },
			responses: { 200: jsonContent(SuppressionSchema, "The entry"), ...platformErrors, ...bodyErrors, ...notFound },
		}),
		async (c) => {
			const found = await suppressionOf(c.env.DB, PLATFORM, c.req.valid("param").email);
			if (!found.ok) throw found.error;
			return c.json(found.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "delete",
			path: "/v1/platform/suppressions/{email}",
			tags: TAGS,
			summary: "Remove an address from the platform-wide list",
			description: "Workspaces' own lists still apply.",
			security: platformSecurity,
			middleware: platformAuthed,
			request: { params: EmailParamSchema },
			responses: { 204: { description: "Removed" }, ...platformErrors, ...bodyErrors, ...notFound },
		}),
		async (c) => {
			const removed = await removeSuppression(c.env.DB, PLATFORM, c.req.valid("param").email);
			if (!removed.ok) throw removed.error;
			return c.body(null, 204);
		},
	);
}
