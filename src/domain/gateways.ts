// Delivery gateways a workspace configures: each type's config and credentials validated by that
// driver's own schemas, credentials sealed with AES-256-GCM before they reach D1 and only ever shown
// back as masked hints.
import type { Db } from "../db/client";
import {
	deleteGateway,
	findGateway,
	type GatewayChanges,
	type GatewayRecord,
	insertGateway,
	listGateways,
	updateGateway,
} from "../db/repositories/gateways";
import { clearOtherLegacy } from "../db/repositories/routing";
import type { GatewayType } from "../db/schema";
import { ApiError, type ErrorDetail, err, ok, type Result } from "../errors";
import { decryptSecret, encryptSecret } from "../lib/crypto";
import { newId } from "../lib/ids";
import { iso } from "../lib/time";
import { resolveBaseUrl } from "../providers/http";
import { GATEWAY_SCHEMAS, URL_FIELDS } from "../providers/schemas";
import type { DriverContext } from "../providers/types";
import { routingFields, withFailover } from "./gateway-routing";
import {
	type BreakerSettings,
	breakerConfigOf,
	type RateLimitsInput,
	rateLimitsOf,
	routingConfigSchema,
	splitConfig,
} from "./routing/breaker-config";

export type Environment = DriverContext["environment"];

export type GatewayInput = {
	name: string;
	type: GatewayType;
	enabled?: boolean | undefined;
	priority?: number | undefined;
	weight?: number | undefined;
	config?: Record<string, unknown> | undefined;
	credentials?: Record<string, unknown> | undefined;
	/** Stored in `config.breaker`, merged into what is there; a null removes a setting (its default applies). */
	breaker?: { [K in keyof BreakerSettings]?: BreakerSettings[K] | null } | undefined;
	/** Stored in the `rate_per_*` columns; a null removes a limit. */
	rate_limits?: RateLimitsInput | undefined;
	/** Address patterns the gateway may deliver (empty: any), in the `can_route` column. */
	can_route?: string[] | undefined;
	/** Address patterns it must never deliver, in the `exclude_patterns` column. */
	exclude_patterns?: string[] | undefined;
	/** Gateways of the same workspace to try next, in `config.failover_to`. */
	failover_to?: string[] | undefined;
	/** The workspace's legacy gateway (`is_legacy`); setting it clears the flag on the others. */
	legacy?: boolean | undefined;
};

export type GatewayPatch = Partial<Omit<GatewayInput, "type">>;

export type GatewayView = {
	id: string;
	name: string;
	type: GatewayType;
	enabled: boolean;
	priority: number;
	weight: number;
	config: Record<string, unknown>;
	/** Masked hints only, e.g. `{ "api_key": "…f00d" }`. */
	credentials: Record<string, string>;
	/** The breaker settings in effect (defaults filled in). */
	breaker: { failure_threshold: number; success_threshold: number; timeout_seconds: number; max_requests: number };
	rate_limits: { second: number | null; minute: number | null; hour: number | null; day: number | null };
	can_route: string[];
	exclude_patterns: string[];
	failover_to: string[];
	legacy: boolean;
	health_status: GatewayRecord["healthStatus"];
	last_health_check_at: string | null;
	created_at: string;
	updated_at: string;
};

/** Shorter secrets than this show no characters at all: four of eight would be half the secret. */
const MIN_LENGTH_FOR_HINT = 12;

/** The last four characters of a secret (of a PEM key's body), or only "…" for a short one. */
export function maskSecret(value: unknown): string {
	if (typeof value !== "string") return "…";
	const body = value.replace(/-----[A-Z ]+-----/g, "").replace(/\\n|\s/g, "");
	return body.length >= MIN_LENGTH_FOR_HINT ? `…${body.slice(-4)}` : "…";
}

function view(row: GatewayRecord, credentials: Record<string, unknown>): GatewayView {
	const breaker = breakerConfigOf(row);
	const limits = rateLimitsOf(row);
	return {
		id: row.id,
		name: row.name,
		type: row.type,
		enabled: row.enabled,
		priority: row.priority,
		weight: row.weight,
		config: row.config,
		credentials: Object.fromEntries(Object.entries(credentials).map(([k, v]) => [k, maskSecret(v)])),
		breaker: {
			failure_threshold: breaker.failureThreshold,
			success_threshold: breaker.successThreshold,
			timeout_seconds: Math.round(breaker.openTimeoutMs / 1_000),
			max_requests: breaker.halfOpenMaxRequests,
		},
		rate_limits: {
			second: limits.second ?? null,
			minute: limits.minute ?? null,
			hour: limits.hour ?? null,
			day: limits.day ?? null,
		},
		can_route: row.canRoute,
		exclude_patterns: row.excludePatterns,
		failover_to: Array.isArray(row.config.failover_to)
			? row.config.failover_to.filter((v): v is string => typeof v === "string")
			: [],
		legacy: row.isLegacy,
		health_status: row.healthStatus,
		last_health_check_at: iso(row.lastHealthCheckAt),
		created_at: iso(row.createdAt),
		updated_at: iso(row.updatedAt),
	};
}

/** Credentials in clear, for the driver and for masking; null when they cannot be opened. */
export async function openCredentials(key: string, row: GatewayRecord): Promise<Record<string, unknown> | null> {
	if (!row.credentialsEnc) return {};
	try {
		const parsed: unknown = JSON.parse(await decryptSecret(key, row.credentialsEnc));
		return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : null;
	} catch {
		return null;
	}
}

async function viewOf(key: string, row: GatewayRecord): Promise<GatewayView> {
	return view(row, (await openCredentials(key, row)) ?? {});
}

/** Parses config and credentials with the type's schemas; a 422 names every wrong field, never a value. */
export function validateSpec(
	type: GatewayType,
	config: unknown,
	credentials: unknown,
	environment: Environment,
): Result<{ config: Record<string, unknown>; credentials: Record<string, unknown> }> {
	const schemas = GATEWAY_SCHEMAS[type];
	const details: ErrorDetail[] = [];
	// Routing settings (breaker, health checks) share `config` with the driver's own fields, which
	// each driver's strict schema would refuse; they are validated on their own.
	const { driver, routing } = splitConfig(isRecord(config) ? config : {});
	const parsedConfig =
		isRecord(config) || config === undefined ? schemas.config.safeParse(driver) : schemas.config.safeParse(config);
	const parsedRouting = routingConfigSchema.safeParse(routing);
	const parsedCredentials = schemas.credentials.safeParse(credentials ?? {});
	for (const [prefix, parsed] of [
		["config", parsedConfig],
		["config", parsedRouting],
		["credentials", parsedCredentials],
	] as const) {
		if (parsed.success) continue;
		for (const issue of parsed.error.issues) {
			const path = [prefix, ...issue.path.map(String)].join(".");
			const message =
				issue.code === "unrecognized_keys"
					? `unknown field(s) for type ${type}: ${issue.keys.join(", ")}`
					: issue.message;
			details.push({ path, message });
		}
	}
	if (parsedConfig.success) {
		for (const field of URL_FIELDS) {
			const value = parsedConfig.data[field];
			if (typeof value !== "string") continue;
			const resolved = resolveBaseUrl(value, value, environment, field);
			if ("error" in resolved)
				details.push({ path: `config.${field}`, message: "must be an https URL outside development" });
		}
	}
	if (!parsedConfig.success || !parsedRouting.success || !parsedCredentials.success || details.length > 0) {
		const first = details[0];
		const summary = first ? `${first.path}: ${first.message}` : "invalid gateway";
		const more = details.length > 1 ? ` (and ${details.length - 1} more)` : "";
		return err(new ApiError("validation_error", `${summary}${more}`, details));
	}
	return ok({ config: { ...parsedConfig.data, ...parsedRouting.data }, credentials: parsedCredentials.data });
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `config` with the request's `breaker` merged into its `breaker` (a null removes a setting). */
function withBreaker(config: Record<string, unknown>, breaker: GatewayInput["breaker"]): Record<string, unknown> {
	if (breaker === undefined) return config;
	const merged: Record<string, unknown> = { ...(isRecord(config.breaker) ? config.breaker : {}) };
	for (const [key, value] of Object.entries(breaker)) {
		if (value === null) delete merged[key];
		else if (value !== undefined) merged[key] = value;
	}
	const { breaker: _old, ...rest } = config;
	return Object.keys(merged).length > 0 ? { ...rest, breaker: merged } : rest;
}

type RateColumns = Pick<GatewayChanges, "ratePerSecond" | "ratePerMinute" | "ratePerHour" | "ratePerDay">;

/** The `rate_per_*` columns a request's `rate_limits` sets (null clears; absent leaves alone). */
function rateColumns(limits: RateLimitsInput | undefined): RateColumns {
	if (!limits) return {};
	const columns: RateColumns = {};
	if (limits.second !== undefined) columns.ratePerSecond = limits.second;
	if (limits.minute !== undefined) columns.ratePerMinute = limits.minute;
	if (limits.hour !== undefined) columns.ratePerHour = limits.hour;
	if (limits.day !== undefined) columns.ratePerDay = limits.day;
	return columns;
}

const seal = (key: string, credentials: Record<string, unknown>) =>
	Object.keys(credentials).length === 0 ? Promise.resolve(null) : encryptSecret(key, JSON.stringify(credentials));

const nameTaken = (name: string) =>
	new ApiError("conflict", `A gateway named "${name}" already exists in this workspace.`);

export async function createGateway(
	db: Db,
	key: string,
	environment: Environment,
	workspaceId: string,
	input: GatewayInput,
): Promise<Result<GatewayView>> {
	const routed = await routingFields(db, workspaceId, null, input);
	if (!routed.ok) return routed;
	const config = withFailover(withBreaker(input.config ?? {}, input.breaker), input.failover_to);
	const spec = validateSpec(input.type, config, input.credentials, environment);
	if (!spec.ok) return spec;
	const id = newId("gw");
	const created = await insertGateway(db, {
		id,
		workspaceId,
		name: input.name,
		type: input.type,
		enabled: input.enabled ?? true,
		priority: input.priority ?? 100,
		weight: input.weight ?? 1,
		config: spec.value.config,
		credentialsEnc: await seal(key, spec.value.credentials),
		...rateColumns(input.rate_limits),
		...routed.value,
	});
	if (!created) return err(nameTaken(input.name));
	if (created.isLegacy) await clearOtherLegacy(db, workspaceId, id, Date.now());
	return ok(view(created, spec.value.credentials));
}

export async function gatewaysOf(db: Db, key: string, workspaceId: string): Promise<GatewayView[]> {
	return Promise.all((await listGateways(db, workspaceId)).map((row) => viewOf(key, row)));
}

export async function gatewayOf(db: Db, key: string, workspaceId: string, id: string): Promise<GatewayView | null> {
	const row = await findGateway(db, workspaceId, id);
	return row ? viewOf(key, row) : null;
}

const missing = () => new ApiError("not_found", "No gateway with this id in this workspace.");

/**
 * Changes a gateway. `config` and `credentials` are merged into what is stored (so a key can be
 * rotated without resending the rest) and the result is validated as a whole.
 */
export async function changeGateway(
	db: Db,
	key: string,
	environment: Environment,
	workspaceId: string,
	id: string,
	patch: GatewayPatch,
): Promise<Result<GatewayView>> {
	const row = await findGateway(db, workspaceId, id);
	if (!row) return err(missing());
	const changes: GatewayChanges = {};
	if (patch.name !== undefined) changes.name = patch.name;
	if (patch.enabled !== undefined) changes.enabled = patch.enabled;
	if (patch.priority !== undefined) changes.priority = patch.priority;
	if (patch.weight !== undefined) changes.weight = patch.weight;
	Object.assign(changes, rateColumns(patch.rate_limits));
	const routed = await routingFields(db, workspaceId, id, patch);
	if (!routed.ok) return routed;
	Object.assign(changes, routed.value);
	let credentials = await openCredentials(key, row);
	if (
		patch.config !== undefined ||
		patch.credentials !== undefined ||
		patch.breaker !== undefined ||
		patch.failover_to !== undefined
	) {
		if (credentials === null && patch.credentials === undefined) {
			return err(
				new ApiError("validation_error", "credentials: the stored credentials cannot be opened; send them again"),
			);
		}
		const spec = validateSpec(
			row.type,
			withFailover(withBreaker({ ...row.config, ...patch.config }, patch.breaker), patch.failover_to),
			{ ...(credentials ?? {}), ...patch.credentials },
			environment,
		);
		if (!spec.ok) return spec;
		changes.config = spec.value.config;
		changes.credentialsEnc = await seal(key, spec.value.credentials);
		credentials = spec.value.credentials;
	}
	const updated = await updateGateway(db, workspaceId, id, changes);
	if (updated === "missing") return err(missing());
	if (updated === "conflict") return err(nameTaken(patch.name ?? row.name));
	if (patch.legacy === true) await clearOtherLegacy(db, workspaceId, id, Date.now());
	return ok(view(updated, credentials ?? {}));
}

export function removeGateway(db: Db, workspaceId: string, id: string): Promise<boolean> {
	return deleteGateway(db, workspaceId, id);
}
