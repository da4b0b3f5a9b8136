// A gateway's breaker, rate-limit and health-check settings: the schemas the API validates them with,
// and `breakerConfigOf`, which turns a stored gateway (its `config.breaker` and `rate_per_*` columns)
// into the BreakerConfig the GatewayBreaker takes. Stored values were validated on the way in; a
// value that still does not parse falls back to its default rather than taking the gateway down.
import { z } from "zod";
import { RELAY_CONFIG_KEYS } from "../../providers/registry";
import { type BreakerConfig, DEFAULT_BREAKER } from "./breaker-types";
import { RATE_UNITS, type RateLimits } from "./breaker-windows";

/** `breaker` as the API takes it and `config.breaker` stores it (seed 000/001 names). */
export const breakerSettingsSchema = z.strictObject({
	failure_threshold: z.number().int().min(1).max(1_000).optional(),
	success_threshold: z.number().int().min(1).max(1_000).optional(),
	timeout_seconds: z.number().int().min(1).max(86_400).optional(),
	max_requests: z.number().int().min(1).max(1_000).optional(),
});
export type BreakerSettings = z.infer<typeof breakerSettingsSchema>;

/** `breaker` in a create or patch request: as stored, and a null removes a setting (its default applies). */
export const breakerInputSchema = z.strictObject({
	failure_threshold: breakerSettingsSchema.shape.failure_threshold.unwrap().nullable().optional(),
	success_threshold: breakerSettingsSchema.shape.success_threshold.unwrap().nullable().optional(),
	timeout_seconds: breakerSettingsSchema.shape.timeout_seconds.unwrap().nullable().optional(),
	max_requests: breakerSettingsSchema.shape.max_requests.unwrap().nullable().optional(),
});

const limit = z.number().int().min(1).max(1_000_000_000).nullable().optional();
/** `rate_limits`: sends per window; null removes a limit. Stored in the `rate_per_*` columns. */
export const rateLimitsSchema = z.strictObject({ second: limit, minute: limit, hour: limit, day: limit });
export type RateLimitsInput = z.infer<typeof rateLimitsSchema>;

export const DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS = 300;
export const DEFAULT_HEALTH_FAILURE_THRESHOLD = 3;

/**
 * Keys of a gateway's `config` that belong to routing rather than to its driver: validated here,
 * and kept out of the driver's own (strict) config schema.
 */
export const routingConfigSchema = z.strictObject({
	breaker: breakerSettingsSchema.optional(),
	/** How often the cron checks the gateway's credentials (default 300 s). */
	health_check_interval_seconds: z.number().int().min(30).max(86_400).optional(),
	/** Consecutive failed checks that mark it unhealthy (default 3). */
	health_check_failure_threshold: z.number().int().min(1).max(100).optional(),
	/** Gateways of the same workspace to try after this one (the API checks they exist). */
	failover_to: z.array(z.string().min(1).max(64)).max(50).optional(),
});
/** Splits a gateway's config into its driver's part and its routing part (RELAY_CONFIG_KEYS, which
 * buildGateway also keeps from the driver; a test holds the two lists equal). */
export function splitConfig(config: Record<string, unknown>): {
	driver: Record<string, unknown>;
	routing: Record<string, unknown>;
} {
	const driver: Record<string, unknown> = {};
	const routing: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(config)) {
		if (RELAY_CONFIG_KEYS.includes(key)) routing[key] = value;
		else driver[key] = value;
	}
	return { driver, routing };
}

/** The internal config the DO validates on every call (callers are our own code, but storage is not). */
export const breakerConfigSchema = z.object({
	failureThreshold: z.number().int().min(1),
	successThreshold: z.number().int().min(1),
	openTimeoutMs: z.number().int().min(0),
	halfOpenMaxRequests: z.number().int().min(1),
	rateLimits: z.object({
		second: z.number().int().min(0).optional(),
		minute: z.number().int().min(0).optional(),
		hour: z.number().int().min(0).optional(),
		day: z.number().int().min(0).optional(),
	}),
});

/** A gateway as stored: drizzle's record (camelCase) or a raw D1 row (snake_case), config as JSON or text. */
export type BreakerSource = {
	config: Record<string, unknown> | string | null | undefined;
	ratePerSecond?: number | null;
	ratePerMinute?: number | null;
	ratePerHour?: number | null;
	ratePerDay?: number | null;
	rate_per_second?: number | null;
	rate_per_minute?: number | null;
	rate_per_hour?: number | null;
	rate_per_day?: number | null;
};

export function configObject(config: BreakerSource["config"]): Record<string, unknown> {
	if (config === null || config === undefined) return {};
	if (typeof config !== "string") return config;
	try {
		const parsed: unknown = JSON.parse(config);
		return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
	} catch {
		return {};
	}
}

const positive = (value: number | null | undefined) =>
	typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;

export function rateLimitsOf(row: BreakerSource): RateLimits {
	const columns = {
		second: row.ratePerSecond ?? row.rate_per_second,
		minute: row.ratePerMinute ?? row.rate_per_minute,
		hour: row.ratePerHour ?? row.rate_per_hour,
		day: row.ratePerDay ?? row.rate_per_day,
	};
	const limits: RateLimits = {};
	for (const unit of RATE_UNITS) {
		const value = positive(columns[unit]);
		if (value !== undefined) limits[unit] = value;
	}
	return limits;
}

export function breakerConfigOf(row: BreakerSource): BreakerConfig {
	const parsed = breakerSettingsSchema.safeParse(configObject(row.config).breaker ?? {});
	const settings: BreakerSettings = parsed.success ? parsed.data : {};
	return {
		failureThreshold: settings.failure_threshold ?? DEFAULT_BREAKER.failureThreshold,
		successThreshold: settings.success_threshold ?? DEFAULT_BREAKER.successThreshold,
		openTimeoutMs:
			settings.timeout_seconds !== undefined ? settings.timeout_seconds * 1_000 : DEFAULT_BREAKER.openTimeoutMs,
		halfOpenMaxRequests: settings.max_requests ?? DEFAULT_BREAKER.halfOpenMaxRequests,
		rateLimits: rateLimitsOf(row),
	};
}

export type HealthSettings = { intervalMs: number; failureThreshold: number };

export function healthSettingsOf(row: BreakerSource): HealthSettings {
	const config = configObject(row.config);
	const interval = routingConfigSchema.shape.health_check_interval_seconds.safeParse(
		config.health_check_interval_seconds,
	);
	const threshold = routingConfigSchema.shape.health_check_failure_threshold.safeParse(
		config.health_check_failure_threshold,
	);
	return {
		intervalMs: ((interval.success ? interval.data : undefined) ?? DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS) * 1_000,
		failureThreshold: (threshold.success ? threshold.data : undefined) ?? DEFAULT_HEALTH_FAILURE_THRESHOLD,
	};
}
