// /v1/reputation: the workspace's bounce and complaint rates over 24 h and 7 d, its state (ok,
// warning, throttled) and since when, and its thresholds and throttle rate (docs/reputation.md).
import { createRoute, z } from "@hono/zod-openapi";
import { REPUTATION_STATES } from "../../db/schema";
import { DEFAULT_REPUTATION, reputationPatchSchema } from "../../domain/reputation/model";
import { changeReputation, reputationOf } from "../../domain/reputation/view";
import type { App } from "../context";
import { authed } from "../middleware/auth";
import { authErrors, bearerSecurity, bodyErrors, jsonContent, notFound } from "../schemas/common";

const WindowSchema = z.object({
	sent: z.number().int(),
	bounced: z.number().int().openapi({ description: "Hard bounces and rejects heard back." }),
	complained: z.number().int(),
	bounce_rate: z
		.number()
		.nullable()
		.openapi({ description: "bounced / sent (a fraction); null when nothing was sent." }),
	complaint_rate: z.number().nullable().openapi({ description: "complained / sent (a fraction)." }),
});

const SettingsSchema = z
	.object({
		bounce_warning: z.number(),
		bounce_throttle: z.number(),
		complaint_warning: z.number(),
		complaint_throttle: z.number(),
		min_volume: z.number().int(),
		throttle_per_minute: z.number().int(),
	})
	.openapi("ReputationSettings", { example: DEFAULT_REPUTATION });

const ReputationSchema = z
	.object({
		state: z.enum(REPUTATION_STATES),
		since: z
			.string()
			.nullable()
			.openapi({ description: "When the workspace entered this state; null if it never left ok." }),
		reason: z.string().nullable(),
		throttled_to_per_minute: z.number().int().nullable(),
		assessment: z.object({
			level: z.enum(["ok", "warning", "throttle"]),
			window: z.enum(["24h", "7d"]).nullable(),
		}),
		windows: z.object({ "24h": WindowSchema, "7d": WindowSchema }),
		settings: SettingsSchema,
	})
	.openapi("Reputation");

const PatchSchema = reputationPatchSchema.openapi("UpdateReputationRequest", {
	example: { bounce_throttle: 0.04, throttle_per_minute: 30 },
});

export function registerReputationRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/reputation",
			tags: ["Reputation"],
			summary: "Bounce and complaint rates, state and thresholds",
			description:
				"Rates are computed at the call from hourly counters; the state is the cron's (every minute). See docs/reputation.md.",
			security: bearerSecurity,
			middleware: authed("analytics:read"),
			responses: { 200: jsonContent(ReputationSchema, "The workspace's reputation"), ...authErrors, ...notFound },
		}),
		async (c) => {
			const found = await reputationOf(c.env.DB, c.var.principal.workspaceId, Date.now());
			if (!found.ok) throw found.error;
			return c.json(found.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "patch",
			path: "/v1/reputation",
			tags: ["Reputation"],
			summary: "Change the thresholds, minimum volume or throttle rate",
			description: "Fields left out keep their value. Rates are fractions (0.05 is 5 %).",
			security: bearerSecurity,
			middleware: authed("admin"),
			request: { body: { required: true, content: { "application/json": { schema: PatchSchema } } } },
			responses: {
				200: jsonContent(ReputationSchema, "The reputation with the new settings"),
				...authErrors,
				...bodyErrors,
				...notFound,
			},
		}),
		async (c) => {
			const changed = await changeReputation(c.env.DB, c.var.principal.workspaceId, c.req.valid("json"), Date.now());
			if (!changed.ok) throw changed.error;
			return c.json(changed.value, 200);
		},
	);
}
