// GatewayBreaker (`gw:<gatewayId>`): the circuit breaker, rate windows and rolling stats of one
// delivery gateway (DESIGN.md "Circuit breaker"). The logic is src/domain/routing/breaker-store.ts,
// which takes the time as an argument; this class only supplies the clock and the storage.
// Failure mode: callers fail open (src/domain/routing/breaker-client.ts).
import { DurableObject } from "cloudflare:workers";
import { BreakerEngine } from "../../src/domain/routing/breaker-store";
import type {
	Admission,
	BreakerConfig,
	BreakerSnapshot,
	GatewayBreakerRpc,
	OutcomeReport,
} from "../../src/domain/routing/breaker-types";
import type { Env } from "../../src/env";

export class GatewayBreaker extends DurableObject<Env> implements GatewayBreakerRpc {
	/** Public so tests can drive it with their own clock through runInDurableObject. */
	readonly engine: BreakerEngine;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.engine = new BreakerEngine(ctx.storage.sql);
	}

	async admit(config: BreakerConfig, wanted: number): Promise<Admission> {
		return this.engine.admit(config, wanted, Date.now());
	}

	async report(config: BreakerConfig, report: OutcomeReport): Promise<BreakerSnapshot> {
		return this.engine.report(config, report, Date.now());
	}

	async snapshot(config: BreakerConfig): Promise<BreakerSnapshot> {
		return this.engine.snapshot(config, Date.now());
	}

	async reset(): Promise<BreakerSnapshot> {
		return this.engine.reset(Date.now());
	}
}
