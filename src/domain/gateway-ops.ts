// What operators see of a workspace's gateways (`/v1/gateways/status|health|metrics`, `/reset`): D1's
// health columns beside each gateway's GatewayBreaker snapshot, one DO call per gateway, in parallel.
// A breaker that cannot be reached shows as `null` (the client logs it); it never fails the request.
import type { Db } from "../db/client";
import { findGateway, type GatewayRecord, listGateways } from "../db/repositories/gateways";
import { ApiError, err, ok, type Result } from "../errors";
import { iso } from "../lib/time";
import { type BreakerNamespace, breakerFor } from "./routing/breaker-client";
import { breakerConfigOf, healthSettingsOf } from "./routing/breaker-config";
import type { BreakerSnapshot, BreakerState, WindowStats } from "./routing/breaker-types";
import { RATE_UNITS, type RateUnit } from "./routing/breaker-windows";

export type BreakerView = {
	state: BreakerState;
	consecutive_failures: number;
	opened_at: string | null;
	half_open_at: string | null;
	in_flight: number;
};

export type RateUsage = { limit: number; used: number | null; remaining: number | null };

export type GatewayStatus = {
	id: string;
	name: string;
	type: GatewayRecord["type"];
	enabled: boolean;
	/** null when the breaker could not be reached. */
	breaker: BreakerView | null;
	health_status: GatewayRecord["healthStatus"];
	last_health_check_at: string | null;
	/** Per configured limit: sends admitted in the current window; null = no limit. */
	rate_limits: Record<RateUnit, RateUsage | null>;
};

export type WindowMetrics = {
	sends: number;
	successes: number;
	failures: number;
	/** successes / (successes + failures): permanent refusals are the recipient's, not the gateway's. */
	success_rate: number | null;
	p50_ms: number | null;
	p95_ms: number | null;
};

export type GatewayMetrics = {
	id: string;
	name: string;
	type: GatewayRecord["type"];
	/** null when the breaker could not be reached. */
	last_hour: WindowMetrics | null;
	last_24h: WindowMetrics | null;
	in_flight: number | null;
};

export type GatewayHealth = {
	id: string;
	name: string;
	type: GatewayRecord["type"];
	enabled: boolean;
	health_status: GatewayRecord["healthStatus"];
	last_health_check_at: string | null;
	consecutive_failed_checks: number;
	next_check_at: string | null;
};

export type HealthSummary = {
	/** healthy: every enabled gateway healthy; unhealthy: none healthy; degraded: some; unknown: not checked yet. */
	status: "healthy" | "degraded" | "unhealthy" | "unknown";
	data: GatewayHealth[];
};

export function breakerView(snapshot: BreakerSnapshot): BreakerView {
	return {
		state: snapshot.state,
		consecutive_failures: snapshot.consecutiveFailures,
		opened_at: iso(snapshot.openedAt),
		half_open_at: iso(snapshot.halfOpenAt),
		in_flight: snapshot.inFlight,
	};
}

function windowMetrics(stats: WindowStats): WindowMetrics {
	const decided = stats.successes + stats.failures;
	return {
		sends: stats.sends,
		successes: stats.successes,
		failures: stats.failures,
		success_rate: decided === 0 ? null : Math.round((stats.successes / decided) * 10_000) / 10_000,
		p50_ms: stats.p50Ms,
		p95_ms: stats.p95Ms,
	};
}

async function withSnapshots(db: Db, namespace: BreakerNamespace, workspaceId: string) {
	const rows = await listGateways(db, workspaceId);
	return Promise.all(
		rows.map(async (row) => {
			const config = breakerConfigOf(row);
			return { row, config, snapshot: await breakerFor(namespace, row.id, config).snapshot() };
		}),
	);
}

export async function gatewayStatuses(
	db: Db,
	namespace: BreakerNamespace,
	workspaceId: string,
): Promise<GatewayStatus[]> {
	return (await withSnapshots(db, namespace, workspaceId)).map(({ row, config, snapshot }) => {
		const rateLimits = {} as Record<RateUnit, RateUsage | null>;
		for (const unit of RATE_UNITS) {
			const limit = config.rateLimits[unit];
			const used = snapshot ? (snapshot.rateUsage[unit] ?? 0) : null;
			rateLimits[unit] =
				limit === undefined ? null : { limit, used, remaining: used === null ? null : Math.max(0, limit - used) };
		}
		return {
			id: row.id,
			name: row.name,
			type: row.type,
			enabled: row.enabled,
			breaker: snapshot ? breakerView(snapshot) : null,
			health_status: row.healthStatus,
			last_health_check_at: iso(row.lastHealthCheckAt),
			rate_limits: rateLimits,
		};
	});
}

export async function gatewayMetrics(
	db: Db,
	namespace: BreakerNamespace,
	workspaceId: string,
): Promise<GatewayMetrics[]> {
	return (await withSnapshots(db, namespace, workspaceId)).map(({ row, snapshot }) => ({
		id: row.id,
		name: row.name,
		type: row.type,
		last_hour: snapshot ? windowMetrics(snapshot.stats.lastHour) : null,
		last_24h: snapshot ? windowMetrics(snapshot.stats.lastDay) : null,
		in_flight: snapshot ? snapshot.inFlight : null,
	}));
}

/** From D1 alone: health is what the cron's checks recorded. */
export async function gatewayHealth(db: Db, workspaceId: string): Promise<HealthSummary> {
	const rows = await listGateways(db, workspaceId);
	const data = rows.map((row) => {
		const { intervalMs } = healthSettingsOf(row);
		return {
			id: row.id,
			name: row.name,
			type: row.type,
			enabled: row.enabled,
			health_status: row.healthStatus,
			last_health_check_at: iso(row.lastHealthCheckAt),
			consecutive_failed_checks: row.healthFailures,
			// Disabled gateways are not checked; a never-checked one is due at the next cron tick.
			next_check_at: !row.enabled
				? null
				: iso(row.lastHealthCheckAt === null ? null : row.lastHealthCheckAt + intervalMs),
		};
	});
	const enabled = data.filter((g) => g.enabled);
	const healthy = enabled.filter((g) => g.health_status === "healthy").length;
	const unhealthy = enabled.filter((g) => g.health_status === "unhealthy").length;
	const status =
		enabled.length === 0 || (healthy === 0 && unhealthy === 0)
			? "unknown"
			: healthy === enabled.length
				? "healthy"
				: healthy === 0
					? "unhealthy"
					: "degraded";
	return { status, data };
}

/** Closes a gateway's breaker by hand; 404 for a gateway of another workspace, 503 when the DO is down. */
export async function resetGatewayBreaker(
	db: Db,
	namespace: BreakerNamespace,
	workspaceId: string,
	id: string,
): Promise<Result<{ id: string; breaker: BreakerView }>> {
	const row = await findGateway(db, workspaceId, id);
	if (!row) return err(new ApiError("not_found", "No gateway with this id in this workspace."));
	const snapshot = await breakerFor(namespace, row.id, breakerConfigOf(row)).reset();
	if (!snapshot) return err(new ApiError("service_unavailable", "The gateway's breaker cannot be reached; try again."));
	return ok({ id: row.id, breaker: breakerView(snapshot) });
}
