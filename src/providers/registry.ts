// Gateway drivers by type (DESIGN.md "Send consumer"): each factory builds a driver from a gateway's
// decrypted credentials, its config and the driver context. A type without a factory in this build
// answers a configuration error, which the consumer records as an `auth` (configuration) failure.
import { DRIVERS } from "./drivers";
import { WEBHOOK_CREDENTIAL_KEYS } from "./schemas";
import type { DeliveryResult, DriverContext, Gateway, GatewaySpec } from "./types";

/**
 * Keys of a gateway's `config` the relay reads itself (breaker, health checks; validated by
 * src/domain/routing/breaker-config.ts), never passed to a driver, whose config schemas are strict.
 */
export const RELAY_CONFIG_KEYS: readonly string[] = [
	"breaker",
	"health_check_interval_seconds",
	"health_check_failure_threshold",
	/** Gateway ids to fail over to after this one (docs/routing.md "Failover"), read by the router. */
	"failover_to",
];

/** A gateway's config without the relay's own keys: what its driver is built from. */
export function driverConfig(config: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(Object.entries(config).filter(([key]) => !RELAY_CONFIG_KEYS.includes(key)));
}

/** A gateway's credentials without the webhook secrets (src/providers/schemas.ts WEBHOOK_CREDENTIALS). */
export function driverCredentials(credentials: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(Object.entries(credentials).filter(([key]) => !WEBHOOK_CREDENTIAL_KEYS.includes(key)));
}

export function buildGateway(spec: GatewaySpec, context: DriverContext): Gateway | { error: string } {
	const factory = DRIVERS[spec.type];
	if (!factory) return { error: `gateway type "${spec.type}" has no driver in this build` };
	return factory(
		{ ...spec, config: driverConfig(spec.config), credentials: driverCredentials(spec.credentials) },
		context,
	);
}

export type TimedOut = { timedOut: true; message: string };

/**
 * Races a delivery against its timeout. A timeout, or a driver that throws, is a temporary failure
 * for every recipient (DESIGN.md table); the thrown error itself is not passed on, since it may hold a
 * URL or a credential.
 */
export async function deliverWithTimeout(
	run: (signal: AbortSignal) => Promise<DeliveryResult>,
	timeoutMs: number,
): Promise<DeliveryResult | TimedOut> {
	const controller = new AbortController();
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<TimedOut>((resolve) => {
		timer = setTimeout(() => {
			controller.abort();
			resolve({ timedOut: true, message: `the gateway did not answer within ${timeoutMs} ms` });
		}, timeoutMs);
	});
	try {
		return await Promise.race([run(controller.signal), timeout]);
	} catch (error) {
		const name = error instanceof Error ? error.name : typeof error;
		return { timedOut: true, message: `the gateway driver failed (${name})` };
	} finally {
		if (timer !== undefined) clearTimeout(timer);
	}
}
