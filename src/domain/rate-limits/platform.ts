// Global (platform) limits: set by operators (PUT /v1/platform/rate-limits), counted in the one
// `global` limiter instance, asked by the consumer once per batch only while some are configured
// (an isolate-cached flag), and by the HTTP path through the workspace's own object (one call).
import { readPlatformLimits, replacePlatformLimits } from "../../db/repositories/rate-limits";
import { ApiError, err, type Result } from "../../errors";
import { getStub } from "../../lib/durable-objects";
import { errorSummary } from "../../lib/log";
import { count } from "../../lib/metrics";
import { forgetPrincipals } from "../auth/principal";
import { GLOBAL_LIMITER_ID, type LimiterConfig, limiterName, type PlatformLimitInput } from "./model";
import { getLimits, type LimitDeps, type LimitView } from "./settings";

/** How long an isolate trusts its answer to "are there global limits?" (the consumer asks per batch). */
export const PLATFORM_FLAG_TTL_MS = 30_000;

let cached: { active: boolean; at: number } | null = null;

export function platformLimiterConfig(rows: readonly { window: string; limit: number; kind: string }[]): LimiterConfig {
	return {
		limits: rows.map((r) => ({
			scope: "global",
			key: null,
			window: r.window as LimiterConfig["limits"][number]["window"],
			limit: r.limit,
			kind: r.kind === "hard" ? "hard" : "soft",
		})),
		queues: [],
	};
}

export async function readPlatformLimiterConfig(db: D1Database): Promise<LimiterConfig> {
	return platformLimiterConfig(await readPlatformLimits(db));
}

/**
 * Whether any global limit is configured, from a per-isolate copy at most PLATFORM_FLAG_TTL_MS old.
 * A D1 failure answers the last known value (or false): the workspace limits still apply.
 */
export async function platformLimitsActive(db: D1Database, now = Date.now()): Promise<boolean> {
	if (cached && now - cached.at < PLATFORM_FLAG_TTL_MS) return cached.active;
	try {
		cached = { active: (await readPlatformLimits(db)).length > 0, at: now };
	} catch (error) {
		console.warn("platform limits: flag refresh failed", { error: errorSummary(error) });
		return cached?.active ?? false;
	}
	return cached.active;
}

export async function putPlatformLimits(
	deps: LimitDeps,
	inputs: readonly PlatformLimitInput[],
): Promise<Result<LimitView[], ApiError>> {
	const rows = inputs.map((i) => ({ window: i.window, limit: i.limit, kind: i.kind ?? "soft" }) as const);
	const seen = new Set<string>();
	for (const [index, r] of rows.entries()) {
		if (seen.has(r.window)) {
			return err(
				new ApiError("validation_error", `limits.${index}: a second global ${r.window} limit`, [
					{ path: `limits.${index}`, message: "duplicate window" },
				]),
			);
		}
		seen.add(r.window);
	}
	await replacePlatformLimits(deps.db, rows);
	cached = { active: rows.length > 0, at: Date.now() };
	// The principal carries "is there a global hard limit": this isolate sees the change at once.
	forgetPrincipals(() => true);
	try {
		count("limiter_calls_total");
		await getStub(deps.limiter, limiterName(GLOBAL_LIMITER_ID)).configure(
			GLOBAL_LIMITER_ID,
			platformLimiterConfig(rows),
		);
	} catch (error) {
		console.error("global limiter config push failed", { error: errorSummary(error) });
		return err(
			new ApiError(
				"service_unavailable",
				"The limits are saved but the global limiter did not confirm them; they apply within a minute, or retry the PUT.",
			),
		);
	}
	return getLimits(deps, GLOBAL_LIMITER_ID);
}

export function getPlatformLimits(deps: LimitDeps): Promise<Result<LimitView[], ApiError>> {
	return getLimits(deps, GLOBAL_LIMITER_ID);
}

/** Tests: forget the isolate's copy of the flag. */
export function forgetPlatformFlag(): void {
	cached = null;
}
