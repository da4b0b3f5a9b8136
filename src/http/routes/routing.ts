// /v1/routing (the workspace's mode and strategy) and /v1/routing-rules (ordered rules that pin
// gateways or a strategy). Scope `admin`. See docs/routing.md.
import { createRoute, z } from "@hono/zod-openapi";
import { createDb } from "../../db/client";
import { ROUTING_MODES, STRATEGIES } from "../../domain/routing/router";
import { changeRule, createRule, removeRule, ruleOf, rulesOf } from "../../domain/routing/rules";
import { putRouting, routingOf } from "../../domain/routing/settings";
import { ApiError } from "../../errors";
import type { App } from "../context";
import { authed } from "../middleware/auth";
import { authErrors, bearerSecurity, bodyErrors, IdParamSchema, jsonContent, notFound } from "../schemas/common";
import { GatewayIdsSchema, PatternSchema } from "../schemas/routing";

const RoutingSchema = z
	.object({ mode: z.enum(ROUTING_MODES), strategy: z.enum(STRATEGIES), failover_order: z.array(z.string()) })
	.openapi("Routing", { example: { mode: "hybrid", strategy: "failover", failover_order: ["gw_01…", "gw_02…"] } });

const PutRoutingSchema = z
	.strictObject({
		mode: z.enum(ROUTING_MODES).openapi({
			description:
				"`legacy`: the legacy gateway only; `gateway`: full routing; `hybrid`: routing, then the legacy gateway.",
		}),
		strategy: z.enum(STRATEGIES),
		failover_order: GatewayIdsSchema.optional().openapi({
			description: "The `failover` strategy's order; gateways not listed follow by priority.",
		}),
	})
	.openapi("PutRoutingRequest");

const HeaderMatch = z.strictObject({
	name: z
		.string()
		.regex(/^[A-Za-z0-9-]{1,100}$/, "must be a header name")
		.openapi({ example: "X-Campaign" }),
	value: z.string().max(998),
});

const MatchSchema = z
	.strictObject({
		sender_domain: PatternSchema.optional().openapi({ example: "*.example.com" }),
		recipient_domain: PatternSchema.optional().openapi({ example: "gmail.com" }),
		tag: z.string().min(1).max(100).optional(),
		header: HeaderMatch.optional(),
	})
	.openapi({ description: "Every given condition must hold; an empty match matches every message." });

const ruleFields = {
	name: z.string().trim().min(1).max(100),
	position: z.number().int().min(0).max(1_000_000).optional().openapi({ description: "Lower is tried first (100)." }),
	match: MatchSchema,
	strategy: z.enum(STRATEGIES).nullable().optional(),
	gateway_ids: GatewayIdsSchema.optional().openapi({
		description: "Pinned gateways, tried in this order unless the rule names a strategy.",
	}),
	enabled: z.boolean().optional(),
};

const CreateRuleSchema = z.strictObject(ruleFields).openapi("CreateRoutingRuleRequest");
const UpdateRuleSchema = z
	.strictObject({ ...ruleFields, name: ruleFields.name.optional(), match: MatchSchema.optional() })
	.openapi("UpdateRoutingRuleRequest");

const RuleSchema = z
	.object({
		id: z.string(),
		name: z.string(),
		position: z.number().int(),
		match: z.object({
			sender_domain: z.string().nullable(),
			recipient_domain: z.string().nullable(),
			tag: z.string().nullable(),
			header: z.object({ name: z.string(), value: z.string() }).nullable(),
		}),
		strategy: z.enum(STRATEGIES).nullable(),
		gateway_ids: z.array(z.string()),
		enabled: z.boolean(),
		created_at: z.string(),
		updated_at: z.string(),
	})
	.openapi("RoutingRule");

const admin = authed("admin");
const tags = ["Routing"];
const missing = () => new ApiError("not_found", "No routing rule with this id in this workspace.");
const jsonBody = <T extends z.ZodType>(schema: T) => ({
	body: { required: true, content: { "application/json": { schema } } },
});

export function registerRoutingRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/routing",
			tags,
			summary: "Get the workspace's routing mode and strategy",
			security: bearerSecurity,
			middleware: admin,
			responses: { 200: jsonContent(RoutingSchema, "The routing settings"), ...authErrors },
		}),
		async (c) => {
			const found = await routingOf(createDb(c.env.DB), c.var.principal.workspaceId);
			if (!found) throw new ApiError("not_found", "No such workspace.");
			return c.json(found, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "put",
			path: "/v1/routing",
			tags,
			summary: "Set the workspace's routing mode and strategy",
			security: bearerSecurity,
			middleware: admin,
			request: jsonBody(PutRoutingSchema),
			responses: { 200: jsonContent(RoutingSchema, "The routing settings"), ...authErrors, ...bodyErrors },
		}),
		async (c) => {
			const put = await putRouting(createDb(c.env.DB), c.var.principal.workspaceId, c.req.valid("json"));
			if (!put.ok) throw put.error;
			return c.json(put.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/routing-rules",
			tags,
			summary: "Add a routing rule",
			security: bearerSecurity,
			middleware: admin,
			request: jsonBody(CreateRuleSchema),
			responses: { 201: jsonContent(RuleSchema, "Created"), ...authErrors, ...bodyErrors },
		}),
		async (c) => {
			const created = await createRule(createDb(c.env.DB), c.var.principal.workspaceId, c.req.valid("json"));
			if (!created.ok) throw created.error;
			return c.json(created.value, 201);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/routing-rules",
			tags,
			summary: "List routing rules in the order they are tried",
			security: bearerSecurity,
			middleware: admin,
			responses: { 200: jsonContent(z.object({ data: z.array(RuleSchema) }), "The rules"), ...authErrors },
		}),
		async (c) => c.json({ data: await rulesOf(createDb(c.env.DB), c.var.principal.workspaceId) }, 200),
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/routing-rules/{id}",
			tags,
			summary: "Get a routing rule",
			security: bearerSecurity,
			middleware: admin,
			request: { params: IdParamSchema },
			responses: { 200: jsonContent(RuleSchema, "The rule"), ...authErrors, ...notFound },
		}),
		async (c) => {
			const found = await ruleOf(createDb(c.env.DB), c.var.principal.workspaceId, c.req.valid("param").id);
			if (!found) throw missing();
			return c.json(found, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "patch",
			path: "/v1/routing-rules/{id}",
			tags,
			summary: "Change a routing rule (`match` is replaced whole)",
			security: bearerSecurity,
			middleware: admin,
			request: { params: IdParamSchema, ...jsonBody(UpdateRuleSchema) },
			responses: { 200: jsonContent(RuleSchema, "Changed"), ...authErrors, ...bodyErrors, ...notFound },
		}),
		async (c) => {
			const changed = await changeRule(
				createDb(c.env.DB),
				c.var.principal.workspaceId,
				c.req.valid("param").id,
				c.req.valid("json"),
			);
			if (!changed.ok) throw changed.error;
			return c.json(changed.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "delete",
			path: "/v1/routing-rules/{id}",
			tags,
			summary: "Remove a routing rule",
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
			if (!(await removeRule(createDb(c.env.DB), c.var.principal.workspaceId, id))) throw missing();
			return c.json({ id, deleted: true as const }, 200);
		},
	);
}
