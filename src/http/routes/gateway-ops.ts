// /v1/gateways/status, /health, /metrics and /{id}/reset: operating a workspace's gateways (breaker
// state, health, own limits used, sends and latency). Requires the `admin` scope. Registered before
// `/v1/gateways/{id}`, which would otherwise take "status" for an id.
import { createRoute, z } from "@hono/zod-openapi";
import { createDb } from "../../db/client";
import { GATEWAY_TYPES } from "../../db/schema";
import { gatewayHealth, gatewayMetrics, gatewayStatuses, resetGatewayBreaker } from "../../domain/gateway-ops";
import type { App } from "../context";
import { authed } from "../middleware/auth";
import { authErrors, bearerSecurity, IdParamSchema, jsonContent, notFound, unavailable } from "../schemas/common";

const BreakerSchema = z
	.object({
		state: z.enum(["closed", "open", "half_open"]),
		consecutive_failures: z.number().int(),
		opened_at: z.string().nullable(),
		half_open_at: z.string().nullable().openapi({ description: "When an open breaker starts admitting probes." }),
		in_flight: z.number().int().openapi({ description: "Sends admitted and not yet reported." }),
	})
	.openapi("GatewayBreaker");

const UsageSchema = z
	.object({ limit: z.number().int(), used: z.number().int().nullable(), remaining: z.number().int().nullable() })
	.nullable();

const health = z.enum(["unknown", "healthy", "unhealthy"]);
const identity = { id: z.string(), name: z.string(), type: z.enum(GATEWAY_TYPES) };

const StatusSchema = z
	.object({
		...identity,
		enabled: z.boolean(),
		breaker: BreakerSchema.nullable().openapi({ description: "null when the breaker could not be reached." }),
		health_status: health,
		last_health_check_at: z.string().nullable(),
		rate_limits: z
			.object({ second: UsageSchema, minute: UsageSchema, hour: UsageSchema, day: UsageSchema })
			.openapi({ description: "Per configured limit, sends admitted in its rolling window; null = no limit." }),
	})
	.openapi("GatewayStatus");

const WindowSchema = z
	.object({
		sends: z.number().int(),
		successes: z.number().int(),
		failures: z.number().int(),
		success_rate: z.number().nullable().openapi({ description: "successes / (successes + failures)." }),
		p50_ms: z.number().int().nullable(),
		p95_ms: z.number().int().nullable(),
	})
	.nullable();

const MetricsSchema = z
	.object({ ...identity, last_hour: WindowSchema, last_24h: WindowSchema, in_flight: z.number().int().nullable() })
	.openapi("GatewayMetrics");

const HealthSchema = z
	.object({
		...identity,
		enabled: z.boolean(),
		health_status: health,
		last_health_check_at: z.string().nullable(),
		consecutive_failed_checks: z.number().int(),
		next_check_at: z.string().nullable(),
	})
	.openapi("GatewayHealth");

const admin = authed("admin");
const tags = ["Gateways"];

export function registerGatewayOpsRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/gateways/status",
			tags,
			summary: "Breaker state, health and own rate limits used, per gateway",
			security: bearerSecurity,
			middleware: admin,
			responses: {
				200: jsonContent(z.object({ data: z.array(StatusSchema) }), "Each gateway's status"),
				...authErrors,
			},
		}),
		async (c) => {
			const data = await gatewayStatuses(createDb(c.env.DB), c.env.GATEWAY_BREAKER, c.var.principal.workspaceId);
			return c.json({ data }, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/gateways/health",
			tags,
			summary: "Health as the scheduled checks found it",
			security: bearerSecurity,
			middleware: admin,
			responses: {
				200: jsonContent(
					z.object({ status: z.enum(["healthy", "degraded", "unhealthy", "unknown"]), data: z.array(HealthSchema) }),
					"Each gateway's health and the workspace's summary",
				),
				...authErrors,
			},
		}),
		async (c) => c.json(await gatewayHealth(createDb(c.env.DB), c.var.principal.workspaceId), 200),
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/gateways/metrics",
			tags,
			summary: "Sends, failures, success rate and p50/p95 latency over the last hour and 24 hours",
			security: bearerSecurity,
			middleware: admin,
			responses: {
				200: jsonContent(z.object({ data: z.array(MetricsSchema) }), "Each gateway's metrics"),
				...authErrors,
			},
		}),
		async (c) => {
			const data = await gatewayMetrics(createDb(c.env.DB), c.env.GATEWAY_BREAKER, c.var.principal.workspaceId);
			return c.json({ data }, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/gateways/{id}/reset",
			tags,
			summary: "Close a gateway's circuit breaker by hand",
			security: bearerSecurity,
			middleware: admin,
			request: { params: IdParamSchema },
			responses: {
				200: jsonContent(z.object({ id: z.string(), breaker: BreakerSchema }), "The breaker, closed"),
				...authErrors,
				...notFound,
				...unavailable,
			},
		}),
		async (c) => {
			const reset = await resetGatewayBreaker(
				createDb(c.env.DB),
				c.env.GATEWAY_BREAKER,
				c.var.principal.workspaceId,
				c.req.valid("param").id,
			);
			if (!reset.ok) throw reset.error;
			return c.json(reset.value, 200);
		},
	);
}
