// PATCH /v1/platform/workspaces/{id}/domains/{name}: an operator vouches for a domain whose DNS
// cannot be checked. The seam for the platform API (issue 12): it owns the platform token, so it
// registers this route with its own guard — `registerPlatformDomainRoutes(app, platformAuthed)` —
// which must answer 401 without the token and 403 for a workspace key. Not registered until then:
// a workspace admin vouching for its own domain would defeat the ownership check.
import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { createDb } from "../../db/client";
import { vouchForDomain } from "../../domain/domain-checks/vouch";
import type { App, AppEnv } from "../context";
import { authErrors, bodyErrors, jsonContent, notFound } from "../schemas/common";
import { DomainSchema, domainName, VouchDomainSchema } from "../schemas/domains";

const ParamsSchema = z.object({
	id: z
		.string()
		.max(64)
		.openapi({ param: { name: "id", in: "path" }, description: "The workspace" }),
	name: domainName.openapi({ param: { name: "name", in: "path" } }),
});

export function registerPlatformDomainRoutes(app: App, guard: MiddlewareHandler<AppEnv>[]): void {
	app.openapi(
		createRoute({
			method: "patch",
			path: "/v1/platform/workspaces/{id}/domains/{name}",
			tags: ["Platform"],
			summary: "Vouch for a workspace's sending domain (operator override)",
			description:
				'`{"verified": true}` marks the domain verified `by: "platform"` (adding it if the workspace lacks it); the cron never re-checks it. `false` withdraws the platform\'s word: the domain is pending again and DNS decides.',
			security: [{ platformToken: [] }],
			middleware: guard,
			request: {
				params: ParamsSchema,
				body: { required: true, content: { "application/json": { schema: VouchDomainSchema } } },
			},
			responses: { 200: jsonContent(DomainSchema, "The domain"), ...authErrors, ...bodyErrors, ...notFound },
		}),
		async (c) => {
			const { id, name } = c.req.valid("param");
			const deps = {
				db: createDb(c.env.DB),
				events: { events: c.env.EVENTS_QUEUE, webhooks: c.env.WEBHOOKS_QUEUE },
				development: c.var.config.ENVIRONMENT === "development",
				inboundMxHost: c.var.config.INBOUND_MX_HOST,
			};
			const vouched = await vouchForDomain(deps, id, name, c.req.valid("json").verified, Date.now());
			if (!vouched.ok) throw vouched.error;
			return c.json(vouched.value, 200);
		},
	);
}
