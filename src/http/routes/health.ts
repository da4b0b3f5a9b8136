// Liveness, readiness and the operation counters.
import { createRoute, z } from "@hono/zod-openapi";
import { recoveryMetricsText } from "../../domain/delivery/recovery";
import { ApiError } from "../../errors";
import { errorSummary } from "../../lib/log";
import { prometheusText } from "../../lib/metrics";
import type { App } from "../context";
import { authed } from "../middleware/auth";
import { authErrors, unavailable } from "../schemas/common";

const Status = z
	.object({ status: z.literal("ok"), checks: z.record(z.string(), z.string()).optional() })
	.openapi("Health");

export function registerHealthRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "get",
			path: "/healthz",
			tags: ["Health"],
			summary: "Liveness: the Worker answers",
			responses: { 200: { description: "Alive", content: { "application/json": { schema: Status } } } },
		}),
		(c) => c.json({ status: "ok" as const }, 200),
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/readyz",
			tags: ["Health"],
			summary: "Readiness: D1 answers a query",
			responses: { 200: { description: "Ready", content: { "application/json": { schema: Status } } }, ...unavailable },
		}),
		async (c) => {
			try {
				await c.env.DB.prepare("SELECT 1").first();
			} catch (error) {
				console.error("readyz: D1 unreachable", { error: errorSummary(error) });
				throw new ApiError("service_unavailable", "D1 is not reachable.");
			}
			return c.json({ status: "ok" as const, checks: { d1: "ok" } }, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/metrics",
			tags: ["Health"],
			summary:
				"Operation counters of this isolate, and the workspace's recovery figures (re-drives by reason, oldest unfinished message per status), Prometheus text format (admin scope)",
			security: [{ bearerAuth: [] }],
			middleware: authed("admin"),
			responses: { 200: { description: "Counters", content: { "text/plain": { schema: z.string() } } }, ...authErrors },
		}),
		async (c) => {
			const recovery = await recoveryMetricsText(c.env.DB, c.var.principal.workspaceId, Date.now());
			return c.text(prometheusText() + recovery, 200, { "Content-Type": "text/plain; version=0.0.4" });
		},
	);
}
