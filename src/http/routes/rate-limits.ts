// /v1/rate-limits: a workspace's limits at every level, replaced as a whole, read with usage; and
// /v1/platform/rate-limits, the operators' global limits over every workspace (PLATFORM_TOKEN).
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { LIMIT_SCOPES, limitSchema, MAX_LIMITS, platformLimitSchema, WINDOWS } from "../../domain/rate-limits/model";
import { getPlatformLimits, putPlatformLimits } from "../../domain/rate-limits/platform";
import { getLimits, type LimitDeps, putLimits } from "../../domain/rate-limits/settings";
import { rateLimitSummary } from "../../domain/rate-limits/summary";
import type { App, AppEnv } from "../context";
import { authed } from "../middleware/auth";
import { platformAuthed } from "../middleware/platform-auth";
import { authErrors, bearerSecurity, bodyErrors, jsonContent, unavailable } from "../schemas/common";
import { platformErrors, platformSecurity } from "../schemas/platform";

const PutPlatformSchema = z
	.strictObject({ limits: z.array(platformLimitSchema).max(WINDOWS.length) })
	.openapi("PutPlatformRateLimitsRequest", {
		example: {
			limits: [
				{ window: "hour", limit: 100000, kind: "soft" },
				{ window: "day", limit: 1000000, kind: "hard" },
			],
		},
	});

const PutSchema = z.strictObject({ limits: z.array(limitSchema).max(MAX_LIMITS) }).openapi("PutRateLimitsRequest", {
	example: {
		limits: [
			{ scope: "workspace", window: "hour", limit: 1000, kind: "soft" },
			{ scope: "sender", window: "day", limit: 100, kind: "hard" },
			{ scope: "sender", key: "vip@example.test", window: "day", limit: 10000, kind: "soft" },
			{ scope: "api_key", window: "second", limit: 50 },
		],
	},
});

const LimitSchema = z
	.object({
		scope: z.enum([...LIMIT_SCOPES, "global"]),
		key: z.string().optional(),
		window: z.enum(WINDOWS),
		limit: z.number().int(),
		kind: z.enum(["soft", "hard"]),
		used: z.number().int(),
		remaining: z.number().int(),
		reset_at: z.string().openapi({ description: "When `remaining` next grows (the oldest counted use expires)." }),
	})
	.openapi("RateLimit");

const ListSchema = z.object({ limits: z.array(LimitSchema) }).openapi("RateLimits");

const SenderSummarySchema = z.object({ sent: z.number().int(), limit: z.number().int().nullable() });
const SummarySchema = z
	.object({
		total_sent_today: z.number().int(),
		workspace_count: z.number().int(),
		workspaces: z.record(
			z.string(),
			z.object({
				sent: z.number().int(),
				limit: z.number().int().nullable(),
				remaining: z.number().int().nullable(),
				users: z.record(z.string(), SenderSummarySchema),
			}),
		),
	})
	.openapi("RateLimitSummary");

function deps(c: Context<AppEnv>): LimitDeps {
	return { db: c.env.DB, limiter: c.env.WORKSPACE_LIMITER };
}

export function registerRateLimitRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "put",
			path: "/v1/rate-limits",
			tags: ["Rate limits"],
			summary: "Replace the workspace's rate limits",
			description:
				"Soft limits defer mail until the window allows it; hard limits refuse it (429 on send, `rejected` for mail already accepted). api_key limits count requests per key. See docs/rate-limits.md.",
			security: bearerSecurity,
			middleware: authed("admin"),
			request: { body: { required: true, content: { "application/json": { schema: PutSchema } } } },
			responses: {
				200: jsonContent(ListSchema, "The limits now in force, with usage"),
				...authErrors,
				...bodyErrors,
				...unavailable,
			},
		}),
		async (c) => {
			const result = await putLimits(deps(c), c.var.principal.workspaceId, c.req.valid("json").limits);
			if (!result.ok) throw result.error;
			return c.json({ limits: result.value }, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/rate-limits",
			tags: ["Rate limits"],
			summary: "The workspace's rate limits with current usage and reset time",
			security: bearerSecurity,
			middleware: authed("admin"),
			responses: { 200: jsonContent(ListSchema, "The limits with usage"), ...authErrors, ...unavailable },
		}),
		async (c) => {
			const result = await getLimits(deps(c), c.var.principal.workspaceId);
			if (!result.ok) throw result.error;
			return c.json({ limits: result.value }, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/api/rate-limit",
			tags: ["Rate limits"],
			summary: "Seed-compatible usage view: sent in the last 24 h per workspace and sender, with the daily limits",
			description:
				"The seed relay's `GET /api/rate-limit`, for the key's own workspace. Limits come from the same limiter as `GET /v1/rate-limits`; `sent` counts messages sent in the last 24 h (From address per user).",
			security: bearerSecurity,
			middleware: authed("admin"),
			responses: { 200: jsonContent(SummarySchema, "Usage per workspace and sender"), ...authErrors, ...unavailable },
		}),
		async (c) => {
			const result = await rateLimitSummary(deps(c), c.var.principal.workspaceId);
			if (!result.ok) throw result.error;
			return c.json(result.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "put",
			path: "/v1/platform/rate-limits",
			tags: ["Platform"],
			summary: "Replace the platform's global rate limits",
			description:
				"Every workspace's mail counts against these (scope `global`, one limit per window). Soft defers, hard refuses (429 on send, `rejected` for mail already accepted). See docs/rate-limits.md.",
			security: platformSecurity,
			middleware: platformAuthed,
			request: { body: { required: true, content: { "application/json": { schema: PutPlatformSchema } } } },
			responses: {
				200: jsonContent(ListSchema, "The global limits now in force, with usage"),
				...platformErrors,
				...bodyErrors,
				...unavailable,
			},
		}),
		async (c) => {
			const result = await putPlatformLimits(deps(c), c.req.valid("json").limits);
			if (!result.ok) throw result.error;
			return c.json({ limits: result.value }, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/platform/rate-limits",
			tags: ["Platform"],
			summary: "The platform's global rate limits with current usage and reset time",
			security: platformSecurity,
			middleware: platformAuthed,
			responses: { 200: jsonContent(ListSchema, "The global limits with usage"), ...platformErrors, ...unavailable },
		}),
		async (c) => {
			const result = await getPlatformLimits(deps(c));
			if (!result.ok) throw result.error;
			return c.json({ limits: result.value }, 200);
		},
	);
}
