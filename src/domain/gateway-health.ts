// Gateway health checks from the cron (DESIGN.md "Routing": a gateway is eligible when its last
// health check passed). Each run takes the enabled gateways whose last check is older than their
// interval, never-checked and oldest first, at most HEALTH_CHECKS_PER_RUN of them, runs each driver's
// credential check (the same one as `POST /v1/gateways/{id}/test`, no mail sent) and records the
// results in one D1 batch: a success marks the gateway healthy, `health_check_failure_threshold`
// failures in a row (default 3) mark it unhealthy.
import { createDb } from "../db/client";
import { dueForHealthCheck, type GatewayRecord, recordHealthResults } from "../db/repositories/gateways";
import { count } from "../lib/metrics";
import type { DriverContext } from "../providers/types";
import { checkGatewayCredentials } from "./gateway-test";
import { DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS, healthSettingsOf } from "./routing/breaker-config";

/**
 * Checks per cron run (one a minute): 50 a minute keeps 250 gateways on the default 5-minute
 * interval; beyond that checks fall behind evenly, since the most overdue go first.
 */
export const HEALTH_CHECKS_PER_RUN = 50;
/** Checks at once: each may wait up to CHECK_TIMEOUT_MS (10 s) on its provider. */
export const HEALTH_CHECK_CONCURRENCY = 10;

export type HealthCheckDeps = {
	db: D1Database;
	encryptionKey: string;
	context: DriverContext;
};

export type HealthCheckRun = {
	checked: number;
	healthy: number;
	failed: number;
	/** Gateways this run marked unhealthy. */
	markedUnhealthy: string[];
};

async function mapLimited<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
	const results: R[] = new Array(items.length);
	let next = 0;
	const worker = async () => {
		while (next < items.length) {
			const index = next++;
			const item = items[index];
			if (item !== undefined) results[index] = await run(item);
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
	return results;
}

export async function runHealthChecks(
	deps: HealthCheckDeps,
	now: number,
	limit = HEALTH_CHECKS_PER_RUN,
): Promise<HealthCheckRun> {
	const db = createDb(deps.db);
	const due: GatewayRecord[] = await dueForHealthCheck(db, now, limit, DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS);
	const checks = await mapLimited(due, HEALTH_CHECK_CONCURRENCY, async (row) => {
		const outcome = await checkGatewayCredentials(deps.encryptionKey, deps.context, row);
		return {
			workspaceId: row.workspaceId,
			id: row.id,
			healthy: outcome.ok,
			unhealthyAfter: healthSettingsOf(row).failureThreshold,
		};
	});
	count("gateway_health_checks_total", checks.length);
	const markedUnhealthy = await recordHealthResults(db, checks, now);
	for (const id of markedUnhealthy) {
		const check = checks.find((c) => c.id === id);
		console.warn("gateway marked unhealthy", {
			gateway_id: id,
			workspace_id: check?.workspaceId,
			failed_checks: check?.unhealthyAfter,
		});
	}
	const healthy = checks.filter((c) => c.healthy).length;
	return { checked: checks.length, healthy, failed: checks.length - healthy, markedUnhealthy };
}
