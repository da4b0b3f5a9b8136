// Pushing a workspace's limits and queue settings to its WorkspaceLimiter after a change, so the next
// batch counts with them. D1 stays the record: a push that fails is repaired when the object next
// refreshes its copy (CONFIG_REFRESH_MS).
import { readLimiterConfig } from "../../db/repositories/rate-limits";
import type { Env } from "../../env";
import { getStub } from "../../lib/durable-objects";
import { errorSummary } from "../../lib/log";
import { count } from "../../lib/metrics";
import { forgetPrincipals } from "../auth/principal";
import { limiterName } from "../rate-limits/model";

export async function pushLimiterConfig(
	db: D1Database,
	limiter: Env["WORKSPACE_LIMITER"],
	workspaceId: string,
): Promise<boolean> {
	// The principal carries the queues and the limit flags: this isolate sees the change at once.
	forgetPrincipals((p) => p.workspaceId === workspaceId);
	try {
		const config = await readLimiterConfig(db, workspaceId);
		count("limiter_calls_total");
		await getStub(limiter, limiterName(workspaceId)).configure(workspaceId, config);
		return true;
	} catch (error) {
		console.error("limiter config push failed", { workspaceId, error: errorSummary(error) });
		return false;
	}
}
