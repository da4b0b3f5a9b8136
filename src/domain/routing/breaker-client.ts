// The consumer's and the operations routes' way to a gateway's breaker: one GatewayBreaker RPC per
// call, with a timeout, and the last state seen per gateway cached in the isolate so a closed
// gateway without rate limits can be used without asking (DESIGN.md "Circuit breaker").
// Failure mode: fail open. A breaker that cannot be reached admits everything asked for and is
// logged with the gateway id; a gateway is never taken out of rotation because its DO is down.
import type { Env } from "../../env";
import { getBreaker } from "../../lib/durable-objects";
import { errorSummary } from "../../lib/log";
import { LruMap } from "../../lib/lru";
import { count } from "../../lib/metrics";
import type {
	Admission,
	BreakerConfig,
	BreakerSnapshot,
	BreakerState,
	GatewayBreakerRpc,
	OutcomeReport,
	SendOutcome,
} from "./breaker-types";

/** How long a state seen from the DO is trusted in this isolate. */
export const BREAKER_CACHE_MS = 5_000;
/** Longest a breaker RPC may take before the caller fails open. */
export const BREAKER_TIMEOUT_MS = 2_000;
const MAX_CACHED_GATEWAYS = 1_000;
/** The epoch of an admission granted without the DO; a report carrying it counts against the current one. */
export const FAIL_OPEN_EPOCH = 0;

export type BreakerNamespace = Env["GATEWAY_BREAKER"];

/** `reopensAt`: when an open breaker that refused this isolate will take probes again. */
type Seen = { state: BreakerState; at: number; reopensAt?: number | undefined };
const seen = new LruMap<string, Seen>(MAX_CACHED_GATEWAYS);

export type BreakerClient = {
	/** Asks for `wanted` sends; never throws (fails open: everything granted). */
	admit(wanted: number): Promise<Admission>;
	/** Reports a batch's outcomes; null when the DO could not be reached (logged). */
	report(report: OutcomeReport): Promise<BreakerSnapshot | null>;
	snapshot(): Promise<BreakerSnapshot | null>;
	/** Closes the breaker by hand. */
	reset(): Promise<BreakerSnapshot | null>;
};

/** The state last seen for the gateway, if seen within BREAKER_CACHE_MS. */
export function knownBreakerState(gatewayId: string, now = Date.now()): BreakerState | null {
	const entry = seen.get(gatewayId);
	return entry && now - entry.at < BREAKER_CACHE_MS ? entry.state : null;
}

/**
 * True when the caller may send through the gateway without `admit`: its breaker was closed a moment
 * ago and it has no rate limits to count against. Such sends are still reported (with `admitted: 0`),
 * so failures open the breaker and the stats stay whole.
 */
export function mayAdmitWithoutAsking(gatewayId: string, config: BreakerConfig, now = Date.now()): boolean {
	const limits = config.rateLimits;
	const limited =
		limits.second !== undefined || limits.minute !== undefined || limits.hour !== undefined || limits.day !== undefined;
	return !limited && knownBreakerState(gatewayId, now) === "closed";
}

/**
 * When an open breaker refused this isolate and will not take probes before then, the time it
 * reopens to them; null otherwise. A caller may skip asking until then: the answer would be no.
 */
export function knownOpenUntil(gatewayId: string, now = Date.now()): number | null {
	const entry = seen.get(gatewayId);
	if (!entry || entry.state !== "open" || entry.reopensAt === undefined) return null;
	return now < entry.reopensAt ? entry.reopensAt : null;
}

/** Forgets what this isolate knows (tests; a reset from this isolate refreshes it instead). */
export function forgetBreakerStates(): void {
	seen.clear();
}

async function withTimeout<T>(run: () => Promise<T>): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`no answer within ${BREAKER_TIMEOUT_MS} ms`)), BREAKER_TIMEOUT_MS);
	});
	try {
		return await Promise.race([run(), timeout]);
	} finally {
		if (timer !== undefined) clearTimeout(timer);
	}
}

export function breakerFor(namespace: BreakerNamespace, gatewayId: string, config: BreakerConfig): BreakerClient {
	const stub = () =>
		getBreaker(namespace, gatewayId) as DurableObjectStub<GatewayBreakerRpc & Rpc.DurableObjectBranded>;
	const remember = (state: BreakerState, reopensAt?: number | null) =>
		seen.set(gatewayId, { state, at: Date.now(), reopensAt: reopensAt ?? undefined });
	const failed = (op: string, error: unknown) => {
		count("breaker_fail_open_total");
		console.warn("gateway breaker unreachable; failing open", {
			gateway_id: gatewayId,
			op,
			error: errorSummary(error),
		});
	};
	const call = async <T>(op: string, run: (s: ReturnType<typeof stub>) => Promise<T>): Promise<T | null> => {
		count("breaker_calls_total");
		try {
			return await withTimeout(() => run(stub()));
		} catch (error) {
			failed(op, error);
			return null;
		}
	};
	const snapshotCall = async (op: string, run: (s: ReturnType<typeof stub>) => Promise<BreakerSnapshot>) => {
		const snapshot = await call(op, run);
		if (snapshot) remember(snapshot.state);
		return snapshot;
	};
	return {
		async admit(wanted) {
			const admission = await call("admit", (s) => s.admit(config, wanted));
			if (!admission)
				return {
					granted: Math.max(0, Math.floor(wanted)),
					state: "closed",
					retryAt: null,
					reason: "ok",
					epoch: FAIL_OPEN_EPOCH,
				};
			remember(admission.state, admission.state === "open" ? admission.retryAt : null);
			return admission;
		},
		report: (report) => {
			const { epoch, ...rest } = report;
			const sent = epoch === undefined || epoch === FAIL_OPEN_EPOCH ? rest : report;
			return snapshotCall("report", (s) => s.report(config, sent));
		},
		snapshot: () => snapshotCall("snapshot", (s) => s.snapshot(config)),
		reset: () => snapshotCall("reset", (s) => s.reset()),
	};
}

/**
 * Collects one gateway's outcomes over a batch in finish order and builds its report, with the
 * admission's epoch (or none, for sends made without `admit`).
 */
export class OutcomeTally {
	private readonly order: SendOutcome[] = [];
	private readonly latenciesMs: number[] = [];

	constructor(private readonly admission: Admission | null) {}

	add(outcome: SendOutcome, latencyMs: number): void {
		this.order.push(outcome);
		this.latenciesMs.push(latencyMs);
	}

	get size(): number {
		return this.order.length;
	}

	report(): OutcomeReport {
		const countOf = (kind: SendOutcome) => this.order.filter((o) => o === kind).length;
		return {
			admitted: this.admission?.granted ?? 0,
			successes: countOf("success"),
			failures: countOf("failure"),
			permanent: countOf("permanent"),
			...(this.admission ? { epoch: this.admission.epoch } : {}),
			order: [...this.order],
			latenciesMs: [...this.latenciesMs],
		};
	}
}
