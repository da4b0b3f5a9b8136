// /v1/gateways: configure delivery gateways (create, list, get, change, remove) and test one.
// Requires the `admin` scope. Credentials go in and never come back out, only masked hints.
// Operations (status, health, metrics, reset) are in gateway-ops.ts.
import { createRoute, z } from "@hono/zod-openapi";
import { createDb } from "../../db/client";
import { GATEWAY_TYPES } from "../../db/schema";
import { testGateway } from "../../domain/gateway-test";
import { changeGateway, createGateway, gatewayOf, gatewaysOf, removeGateway } from "../../domain/gateways";
import { breakerInputSchema, rateLimitsSchema } from "../../domain/routing/breaker-config";
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
import { GatewayIdsSchema, PatternListSchema } from "../schemas/routing";
import { registerGatewayOpsRoutes } from "./gateway-ops";

const GatewaySchema = z
	.object({
		id: z.string(),
		name: z.string(),
		type: z.enum(GATEWAY_TYPES),
		enabled: z.boolean(),
		priority: z.number().int(),
		weight: z.number().int(),
		config: z.record(z.string(), z.unknown()),
		credentials: z
			.record(z.string(), z.string())
			.openapi({ description: "Masked hints only; secrets are never returned.", example: { api_key: "…f00d" } }),
		breaker: z
			.object({
				failure_threshold: z.number().int(),
				success_threshold: z.number().int(),
				timeout_seconds: z.number().int(),
				max_requests: z.number().int(),
			})
			.openapi({ description: "The circuit-breaker settings in effect, defaults filled in (docs/routing.md)." }),
		rate_limits: z
			.object({
				second: z.number().int().nullable(),
				minute: z.number().int().nullable(),
				hour: z.number().int().nullable(),
				day: z.number().int().nullable(),
			})
			.openapi({ description: "The gateway's own send limits; null = unlimited." }),
		can_route: z.array(z.string()),
		exclude_patterns: z.array(z.string()),
		failover_to: z.array(z.string()),
		legacy: z.boolean(),
		health_status: z.enum(["unknown", "healthy", "unhealthy"]),
		last_health_check_at: z.string().nullable(),
		created_at: z.string(),
		updated_at: z.string(),
	})
	.openapi("Gateway");

const common = {
	name: z.string().trim().min(1).max(100),
	enabled: z.boolean().optional(),
	priority: z.number().int().min(0).max(10_000).optional().openapi({ description: "Lower is tried first." }),
	weight: z.number().int().min(1).max(1_000).optional(),
};
const configField = z
	.record(z.string(), z.unknown())
	.optional()
	.openapi({ description: "Per type; see docs/gateways.md.", example: { domain: "mg.example.com", region: "eu" } });
const credentialsField = z
	.record(z.string(), z.unknown())
	.optional()
	.openapi({ description: "Per type; stored encrypted, never returned.", example: { api_key: "key-…" } });

const breakerField = breakerInputSchema.optional().openapi({
	description:
		"Circuit breaker: failures that open it (default 5), successes that close it (3), seconds open (30), probes at once (1). Stored in `config.breaker`; null restores a default.",
	example: { failure_threshold: 10, timeout_seconds: 60 },
});
const rateLimitsField = rateLimitsSchema.optional().openapi({
	description: "The gateway's own send limits per rolling window; null removes one.",
	example: { second: 10, day: 50_000 },
});

const routingFields = {
	can_route: PatternListSchema.optional().openapi({
		description:
			"Addresses this gateway may deliver (empty: any); the `domain` strategy prefers a gateway naming the recipient.",
		example: ["*@gmail.com", "*@googlemail.com"],
	}),
	exclude_patterns: PatternListSchema.optional().openapi({
		description: "Addresses this gateway must never deliver.",
		example: ["*@example.org"],
	}),
	failover_to: GatewayIdsSchema.optional().openapi({
		description: "Gateways of this workspace to try next when this one fails; stored in `config.failover_to`.",
	}),
	legacy: z.boolean().optional().openapi({
		description: "The workspace's legacy gateway (modes `legacy` and `hybrid`); setting it clears it on the others.",
	}),
};

const CreateGatewaySchema = z
	.strictObject({
		...common,
		type: z.enum(GATEWAY_TYPES),
		config: configField,
		credentials: credentialsField,
		breaker: breakerField,
		rate_limits: rateLimitsField,
		...routingFields,
	})
	.openapi("CreateGatewayRequest");

const UpdateGatewaySchema = z
	.strictObject({
		name: common.name.optional(),
		enabled: common.enabled,
		priority: common.priority,
		weight: common.weight,
		config: configField,
		credentials: credentialsField,
		breaker: breakerField,
		rate_limits: rateLimitsField,
		...routingFields,
	})
	.openapi("UpdateGatewayRequest");

const TestGatewaySchema = z
	.strictObject({
		to: z.email().optional().openapi({ description: "Send a real test message here instead of a credential check." }),
		from: z.email().optional().openapi({ description: "Defaults to mailqueue-test@ the first verified domain." }),
	})
	.openapi("TestGatewayRequest");

const TestResultSchema = z
	.object({ ok: z.boolean(), latency_ms: z.number().int(), detail: z.string() })
	.openapi("GatewayTestResult");

const admin = authed("admin");
const missing = () => new ApiError("not_found", "No gateway with this id in this workspace.");
const tags = ["Gateways"];

export function registerGatewayRoutes(app: App): void {
	// First: `/v1/gateways/status` and its siblings would otherwise match `/v1/gateways/{id}`.
	registerGatewayOpsRoutes(app);

	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/gateways",
			tags,
			summary: "Configure a delivery gateway",
			security: bearerSecurity,
			middleware: admin,
			request: { body: { required: true, content: { "application/json": { schema: CreateGatewaySchema } } } },
			responses: { 201: jsonContent(GatewaySchema, "Created"), ...alreadyExists, ...authErrors, ...bodyErrors },
		}),
		async (c) => {
			const { ENCRYPTION_KEY, ENVIRONMENT } = c.var.config;
			const db = createDb(c.env.DB);
			const created = await createGateway(
				db,
				ENCRYPTION_KEY,
				ENVIRONMENT,
				c.var.principal.workspaceId,
				c.req.valid("json"),
			);
			if (!created.ok) throw created.error;
			return c.json(created.value, 201);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/gateways",
			tags,
			summary: "List gateways in routing order",
			security: bearerSecurity,
			middleware: admin,
			responses: { 200: jsonContent(z.object({ data: z.array(GatewaySchema) }), "The gateways"), ...authErrors },
		}),
		async (c) => {
			const data = await gatewaysOf(createDb(c.env.DB), c.var.config.ENCRYPTION_KEY, c.var.principal.workspaceId);
			return c.json({ data }, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/gateways/{id}",
			tags,
			summary: "Get a gateway",
			security: bearerSecurity,
			middleware: admin,
			request: { params: IdParamSchema },
			responses: { 200: jsonContent(GatewaySchema, "The gateway"), ...authErrors, ...notFound },
		}),
		async (c) => {
			const db = createDb(c.env.DB);
			const found = await gatewayOf(
				db,
				c.var.config.ENCRYPTION_KEY,
				c.var.principal.workspaceId,
				c.req.valid("param").id,
			);
			if (!found) throw missing();
			return c.json(found, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "patch",
			path: "/v1/gateways/{id}",
			tags,
			summary: "Change a gateway (config and credentials are merged into what is stored)",
			security: bearerSecurity,
			middleware: admin,
			request: {
				params: IdParamSchema,
				body: { required: true, content: { "application/json": { schema: UpdateGatewaySchema } } },
			},
			responses: {
				200: jsonContent(GatewaySchema, "Changed"),
				...alreadyExists,
				...authErrors,
				...bodyErrors,
				...notFound,
			},
		}),
		async (c) => {
			const { ENCRYPTION_KEY, ENVIRONMENT } = c.var.config;
			const changed = await changeGateway(
				createDb(c.env.DB),
				ENCRYPTION_KEY,
				ENVIRONMENT,
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
			path: "/v1/gateways/{id}",
			tags,
			summary: "Remove a gateway",
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
			if (!(await removeGateway(createDb(c.env.DB), c.var.principal.workspaceId, id))) throw missing();
			return c.json({ id, deleted: true as const }, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/gateways/{id}/test",
			tags,
			summary: "Check a gateway's credentials, or send a test message with `to`",
			security: bearerSecurity,
			middleware: admin,
			request: {
				params: IdParamSchema,
				body: { required: false, content: { "application/json": { schema: TestGatewaySchema } } },
			},
			responses: {
				200: jsonContent(TestResultSchema, "The check ran; `ok` says whether it passed"),
				...authErrors,
				...bodyErrors,
				...notFound,
			},
		}),
		async (c) => {
			const { ENCRYPTION_KEY, ENVIRONMENT } = c.var.config;
			const context = {
				bodies: c.env.BODIES,
				fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init),
				environment: ENVIRONMENT,
			};
			const tested = await testGateway(
				createDb(c.env.DB),
				ENCRYPTION_KEY,
				context,
				c.var.principal.workspaceId,
				c.req.valid("param").id,
				c.req.valid("json") ?? {},
			);
			if (!tested.ok) throw tested.error;
			return c.json(tested.value, 200);
		},
	);
}
