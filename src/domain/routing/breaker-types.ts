// The GatewayBreaker Durable Object's contract (`gw:<gatewayId>`, DESIGN.md "Circuit breaker"): the
// consumer asks it once per gateway per queue batch to admit N sends (breaker state, half-open
// probes and the gateway's own rate windows) and reports the batch's outcomes in bulk afterwards.

export type BreakerState = "closed" | "open" | "half_open";

/** Per-gateway settings, from the gateway's config (`breaker`, `rate_limits`), with defaults. */
export type BreakerConfig = {
	/** Consecutive temporary/auth failures that open a closed breaker (default 5). */
	failureThreshold: number;
	/** Successes in half-open that close it again (default 3). */
	successThreshold: number;
	/** How long an open breaker waits before admitting probes (default 30 s). */
	openTimeoutMs: number;
	/** Probes admitted at once while half-open (default 1). */
	halfOpenMaxRequests: number;
	/** The gateway's own send limits per window; absent = unlimited. */
	rateLimits: { second?: number; minute?: number; hour?: number; day?: number };
};

export const DEFAULT_BREAKER: BreakerConfig = {
	failureThreshold: 5,
	successThreshold: 3,
	openTimeoutMs: 30_000,
	halfOpenMaxRequests: 1,
	rateLimits: {},
};

export type Admission = {
	/** Sends the caller may make now (0..wanted); each must be reported. */
	granted: number;
	state: BreakerState;
	/** When more could be admitted, if fewer than wanted were (breaker reopens to probes, a window rolls). */
	retryAt: number | null;
	reason: "ok" | "open" | "half_open_busy" | "rate_limited";
	/**
	 * The breaker's generation: it changes with every state transition. Passed back in the report, it
	 * keeps outcomes of sends admitted before a transition from moving the new state (a batch admitted
	 * while closed that finishes after the breaker opened is not a failed probe).
	 */
	epoch: number;
};

/** One send's outcome, in the order the sends finished. */
export type SendOutcome = "success" | "failure" | "permanent";

export type OutcomeReport = {
	/** Sends that were admitted, whatever became of them (releases in-flight and unused reservations). */
	admitted: number;
	successes: number;
	/** Temporary or auth failures: these count toward opening. Permanent refusals count as neither. */
	failures: number;
	/** Permanent refusals (sent, neither success nor failure); default 0. Admitted sends not counted in
	 * successes + failures + permanent were never attempted and are given back to the rate windows. */
	permanent?: number;
	/** `Admission.epoch` of the admission these sends came from; absent = the current one. */
	epoch?: number;
	/**
	 * The outcomes in finish order, for exact "consecutive" counting. Absent: a report with any success
	 * resets the failure count, one with only failures adds them all.
	 */
	order?: SendOutcome[];
	latenciesMs: number[];
};

export type BreakerSnapshot = {
	state: BreakerState;
	consecutiveFailures: number;
	openedAt: number | null;
	inFlight: number;
	/** Sends admitted in the current window of each configured rate limit. */
	rateUsage: { second?: number; minute?: number; hour?: number; day?: number };
	stats: {
		lastHour: WindowStats;
		lastDay: WindowStats;
	};
	/** The breaker's generation (see `Admission.epoch`). */
	epoch: number;
	/** When an open breaker starts admitting probes. */
	halfOpenAt: number | null;
};

export type WindowStats = {
	/** Sends attempted (successes + failures + permanent refusals). */
	sends: number;
	successes: number;
	failures: number;
	p50Ms: number | null;
	p95Ms: number | null;
};

/** The RPC surface of the GatewayBreaker class. Failure mode: callers fail open (admit, log). */
export interface GatewayBreakerRpc {
	admit(config: BreakerConfig, wanted: number): Promise<Admission>;
	report(config: BreakerConfig, report: OutcomeReport): Promise<BreakerSnapshot>;
	snapshot(config: BreakerConfig): Promise<BreakerSnapshot>;
	/** Closes the breaker by hand (`POST /v1/gateways/{id}/reset`). */
	reset(): Promise<BreakerSnapshot>;
}
