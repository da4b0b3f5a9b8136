// PUT/GET /v1/rate-limits in the domain: replace a workspace's limits (D1, then pushed to its
// WorkspaceLimiter) and read them back with their current usage from the limiter.
import { replaceLimits } from "../../db/repositories/rate-limits";
import type { Env } from "../../env";
import { ApiError, err, ok, type Result } from "../../errors";
import { getStub } from "../../lib/durable-objects";
import { errorSummary } from "../../lib/log";
import { count } from "../../lib/metrics";
import { iso } from "../../lib/time";
import { pushLimiterConfig } from "../queues/config";
import { describeLimit, type LimitDef, type LimitInput, limiterName, toLimitDef } from "./model";

export type LimitDeps = { db: D1Database; limiter: Env["WORKSPACE_LIMITER"] };

export type LimitView = {
	scope: LimitDef["scope"];
	key?: string;
	window: LimitDef["window"];
	limit: number;
	kind: "soft" | "hard";
	used: number;
	remaining: number;
	reset_at: string;
};

export async function putLimits(
	deps: LimitDeps,
	workspaceId: string,
	inputs: readonly LimitInput[],
): Promise<Result<LimitView[], ApiError>> {
	const defs = inputs.map(toLimitDef);
	const seen = new Set<string>();
	for (const [index, d] of defs.entries()) {
		const id = `${d.scope}|${d.key ?? ""}|${d.window}`;
		if (seen.has(id)) {
			return err(
				new ApiError(
					"validation_error",
					`limits.${index}: a second ${describeLimit(d)} for the same scope, key and window`,
					[{ path: `limits.${index}`, message: "duplicate scope, key and window" }],
				),
			);
		}
		seen.add(id);
	}
	await replaceLimits(deps.db, workspaceId, defs);
	if (!(await pushLimiterConfig(deps.db, deps.limiter, workspaceId))) {
		return err(
			new ApiError(
				"service_unavailable",
				"The limits are saved but the rate limiter did not confirm them; they apply within a minute, or retry the PUT.",
			),
		);
	}
	return getLimits(deps, workspaceId);
}

export async function getLimits(deps: LimitDeps, workspaceId: string): Promise<Result<LimitView[], ApiError>> {
	try {
		count("limiter_calls_total");
		const usage = await getStub(deps.limiter, limiterName(workspaceId)).usage(workspaceId);
		return ok(
			usage.map((u) => ({
				scope: u.scope,
				...(u.key !== null ? { key: u.key } : {}),
				window: u.window,
				limit: u.limit,
				kind: u.kind,
				used: u.used,
				remaining: u.remaining,
				reset_at: iso(u.resetAt),
			})),
		);
	} catch (error) {
		console.error("rate limiter unreachable for usage", { workspaceId, error: errorSummary(error) });
		return err(new ApiError("service_unavailable", "The rate limiter cannot be reached right now; retry shortly."));
	}
}
