// The circuit breaker of one gateway as pure functions of its state and `now` (DESIGN.md "Circuit
// breaker"), so the GatewayBreaker Durable Object only loads, calls and stores, and tests drive time:
//   closed ──failureThreshold consecutive failures──▶ open ──openTimeoutMs──▶ half_open
//   half_open: at most halfOpenMaxRequests probes in flight; successThreshold successes ─▶ closed,
//   any failed probe ─▶ open again.
// The same state holds the gateway's rate windows and the sends admitted but not yet reported.
import type { Admission, BreakerConfig, BreakerState, OutcomeReport, SendOutcome } from "./breaker-types";
import {
	emptyWindows,
	pruneWindows,
	type RateWindows,
	recordSends,
	refundSends,
	roomAt,
	roomIn,
	type Slots,
	takeOldest,
} from "./breaker-windows";

/**
 * How long admitted sends count as in flight (and half-open probes as busy) without a report: a
 * consumer that died after `admit` must not hold a half-open breaker forever. The consumer's own
 * lease on a batch is 5 min; after that its outcomes can no longer be recorded anyway.
 */
export const IN_FLIGHT_LEASE_MS = 5 * 60_000;
/** Admissions are grouped by this much time, which bounds the in-flight list to 30 entries. */
const IN_FLIGHT_SLOT_MS = 10_000;

export type BreakerData = {
	v: 1;
	state: BreakerState;
	epoch: number;
	consecutiveFailures: number;
	openedAt: number | null;
	halfOpenSuccesses: number;
	/** Admitted, unreported sends by IN_FLIGHT_SLOT_MS slot. */
	inFlight: Slots;
	/** The half-open probes among them. */
	probes: Slots;
	windows: RateWindows;
};

export function initialData(): BreakerData {
	return {
		v: 1,
		state: "closed",
		epoch: 1,
		consecutiveFailures: 0,
		openedAt: null,
		halfOpenSuccesses: 0,
		inFlight: [],
		probes: [],
		windows: emptyWindows(),
	};
}

const count = (slots: Slots) => slots.reduce((sum, [, n]) => sum + n, 0);
const liveSlots = (slots: Slots, now: number) =>
	slots.filter(([index]) => (index + 1) * IN_FLIGHT_SLOT_MS + IN_FLIGHT_LEASE_MS > now);
const addSlot = (slots: Slots, n: number, now: number): Slots => {
	if (n <= 0) return slots;
	const index = Math.floor(now / IN_FLIGHT_SLOT_MS);
	const last = slots[slots.length - 1];
	if (last && last[0] === index) return [...slots.slice(0, -1), [index, last[1] + n]];
	return [...slots, [index, n]];
};

export const inFlightOf = (data: BreakerData) => count(data.inFlight);
export const halfOpenAt = (data: BreakerData, config: BreakerConfig) =>
	data.state === "open" && data.openedAt !== null ? data.openedAt + config.openTimeoutMs : null;

function transition(data: BreakerData, state: BreakerState, now: number): BreakerData {
	return {
		...data,
		state,
		epoch: data.epoch + 1,
		consecutiveFailures: 0,
		halfOpenSuccesses: 0,
		openedAt: state === "open" ? now : null,
		probes: [],
	};
}

/** Applies what time alone changes: an open breaker's timeout, expired leases, old rate slots. */
export function advance(data: BreakerData, config: BreakerConfig, now: number): BreakerData {
	let next: BreakerData = {
		...data,
		inFlight: liveSlots(data.inFlight, now),
		probes: liveSlots(data.probes, now),
		windows: pruneWindows(data.windows, now),
	};
	const reopensAt = halfOpenAt(next, config);
	if (reopensAt !== null && now >= reopensAt) next = transition(next, "half_open", now);
	return next;
}

export function admit(
	data: BreakerData,
	config: BreakerConfig,
	wanted: number,
	now: number,
): { data: BreakerData; admission: Admission } {
	const current = advance(data, config, now);
	const answer = (granted: number, reason: Admission["reason"], retryAt: number | null, next = current) => ({
		data: next,
		admission: { granted, state: next.state, retryAt, reason, epoch: next.epoch },
	});
	// Anything but a finite count asks for nothing: NaN must not slip through the comparisons below.
	const want = Number.isFinite(wanted) ? Math.max(0, Math.floor(wanted)) : 0;
	if (current.state === "open") return answer(0, "open", halfOpenAt(current, config));
	if (want === 0) return answer(0, "ok", null);

	let cap = want;
	let limitedBy: Admission["reason"] = "ok";
	if (current.state === "half_open") {
		const free = Math.max(0, config.halfOpenMaxRequests - count(current.probes));
		if (free < cap) {
			cap = free;
			limitedBy = "half_open_busy";
		}
	}
	const room = roomIn(current.windows, config.rateLimits, now);
	if (room < cap) {
		cap = room;
		limitedBy = "rate_limited";
	}
	const next: BreakerData = {
		...current,
		inFlight: addSlot(current.inFlight, cap, now),
		probes: current.state === "half_open" ? addSlot(current.probes, cap, now) : current.probes,
		windows: recordSends(current.windows, cap, now),
	};
	if (cap === want) return answer(cap, "ok", null, next);
	const retryAt =
		limitedBy === "rate_limited"
			? roomAt(next.windows, config.rateLimits, now)
			: // A busy half-open breaker frees a probe slot when a probe reports: soon, but unknowably
				// soon; the open timeout is the breaker's own pace for trying again.
				now + config.openTimeoutMs;
	return answer(cap, limitedBy, retryAt, next);
}

/** Moves the state machine through the outcomes of one report, in order. */
function applyOutcomes(data: BreakerData, config: BreakerConfig, order: readonly SendOutcome[], now: number) {
	let next = data;
	for (const outcome of order) {
		if (next.state === "open" || outcome === "permanent") continue;
		if (next.state === "closed") {
			if (outcome === "success") next = { ...next, consecutiveFailures: 0 };
			else {
				const failures = next.consecutiveFailures + 1;
				next =
					failures >= config.failureThreshold
						? transition(next, "open", now)
						: { ...next, consecutiveFailures: failures };
			}
		} else if (outcome === "failure") next = transition(next, "open", now);
		else {
			const successes = next.halfOpenSuccesses + 1;
			next =
				successes >= config.successThreshold
					? transition(next, "closed", now)
					: { ...next, halfOpenSuccesses: successes };
		}
	}
	return next;
}

/** Without an order: any success resets the count (its place is unknown), only failures add up. */
function unorderedOutcomes(report: OutcomeReport, state: BreakerState): SendOutcome[] {
	const failures: SendOutcome[] = new Array(Math.max(0, report.failures)).fill("failure");
	const successes: SendOutcome[] = new Array(Math.max(0, report.successes)).fill("success");
	// Half-open, one failed probe reopens whatever else happened; closed, successes come last so the
	// count ends at zero.
	return state === "half_open" ? [...failures, ...successes] : successes.length > 0 ? successes : failures;
}

export function report(data: BreakerData, config: BreakerConfig, outcome: OutcomeReport, now: number): BreakerData {
	const current = advance(data, config, now);
	const admitted = Math.max(0, Math.floor(outcome.admitted));
	const attempted = outcome.successes + outcome.failures + (outcome.permanent ?? 0);
	const unused = Math.max(0, admitted - attempted);
	const sameEpoch = outcome.epoch === undefined || outcome.epoch === current.epoch;
	let next: BreakerData = {
		...current,
		inFlight: takeOldest(current.inFlight, admitted),
		// Probes belong to the current half-open epoch; an older report's sends were never probes.
		probes: sameEpoch ? takeOldest(current.probes, admitted) : current.probes,
		windows: refundSends(current.windows, unused),
	};
	if (sameEpoch) {
		next = applyOutcomes(next, config, outcome.order ?? unorderedOutcomes(outcome, next.state), now);
	}
	return next;
}

/** Closes the breaker by hand; rate windows and in-flight sends are facts and stay. */
export function reset(data: BreakerData, now: number): BreakerData {
	return transition(data, "closed", now);
}
