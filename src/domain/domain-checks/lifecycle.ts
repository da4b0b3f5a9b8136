// What one ownership check does to a domain: pending → verified when the TXT is found; pending →
// failed after 72 h without it; verified → failed after 72 h of it missing; and when the cron looks
// next. A lookup that fails temporarily changes nothing, and no domain flips on one failed lookup:
// failing needs the window to have passed and at least MIN_FAILED_CHECKS definitive misses in a row.
import type { DomainRecord } from "../../db/repositories/domains";
import type { RecordCheck } from "../../db/schema";
import { HOUR, iso, MINUTE } from "../../lib/time";
import { describeOwnership, type ExpectedRecord } from "./records";

/** A new domain is checked every minute for this long, then every PENDING_SLOW_INTERVAL_MS. */
export const PENDING_FAST_WINDOW_MS = 10 * MINUTE;
export const PENDING_FAST_INTERVAL_MS = MINUTE;
export const PENDING_SLOW_INTERVAL_MS = 10 * MINUTE;
/** How long a pending domain is checked before it is `failed`; also how long a verified one may miss its TXT. */
export const GIVE_UP_AFTER_MS = 72 * HOUR;
export const VERIFIED_RECHECK_MS = 24 * HOUR;
/** A verified domain whose TXT went missing is looked at hourly, so it recovers or fails on time. */
export const MISSING_RECHECK_MS = HOUR;
/** After a temporary failure (SERVFAIL, timeout) a verified domain is tried again this soon. */
export const TRY_LATER_MS = 10 * MINUTE;
export const MIN_FAILED_CHECKS = 2;

export type DomainChanges = Partial<
	Pick<
		DomainRecord,
		| "status"
		| "verifiedBy"
		| "verifiedAt"
		| "nextCheckAt"
		| "pendingSince"
		| "missingSince"
		| "failedChecks"
		| "failureReason"
	>
>;

export type Transition = { changes: DomainChanges; event: "domain_verified" | "domain_failed" | null };

function pendingInterval(domain: DomainRecord, now: number): number {
	const age = now - (domain.pendingSince ?? domain.createdAt);
	return age < PENDING_FAST_WINDOW_MS ? PENDING_FAST_INTERVAL_MS : PENDING_SLOW_INTERVAL_MS;
}

/**
 * The domain after `check` (its ownership record's result). `manual` is a user's POST …/verify: it
 * may also give a failed domain a new pending window, since the user says the record is published.
 */
export function afterOwnershipCheck(
	domain: DomainRecord,
	record: ExpectedRecord,
	check: RecordCheck,
	now: number,
	manual: boolean,
): Transition {
	// An operator's or the development shortcut's word stands; a check only informs.
	const vouched = domain.status === "verified" && domain.verifiedBy !== "dns" && domain.verifiedBy !== null;
	if (vouched) return { changes: {}, event: null };

	if (check.status === "ok") {
		const wasVerified = domain.status === "verified";
		return {
			changes: {
				status: "verified",
				verifiedBy: "dns",
				verifiedAt: wasVerified && domain.verifiedAt !== null ? domain.verifiedAt : now,
				nextCheckAt: now + VERIFIED_RECHECK_MS,
				missingSince: null,
				failedChecks: 0,
				failureReason: null,
			},
			event: wasVerified ? null : "domain_verified",
		};
	}
	if (check.status === "try_later" || check.status === "unchecked") {
		if (domain.status === "pending")
			return { changes: { nextCheckAt: now + pendingInterval(domain, now) }, event: null };
		if (domain.status === "verified") return { changes: { nextCheckAt: now + TRY_LATER_MS }, event: null };
		return { changes: {}, event: null };
	}

	const failedChecks = domain.failedChecks + 1;
	const what = describeOwnership(record, check);
	if (domain.status === "failed") {
		if (!manual) return { changes: {}, event: null };
		return {
			changes: {
				status: "pending",
				pendingSince: now,
				failedChecks: 1,
				failureReason: null,
				nextCheckAt: now + PENDING_FAST_INTERVAL_MS,
			},
			event: null,
		};
	}
	if (domain.status === "pending") {
		const since = domain.pendingSince ?? domain.createdAt;
		if (now - since >= GIVE_UP_AFTER_MS && failedChecks >= MIN_FAILED_CHECKS) {
			return {
				changes: {
					status: "failed",
					failedChecks,
					nextCheckAt: null,
					failureReason: `not verified within 72 hours: ${what}`,
				},
				event: "domain_failed",
			};
		}
		return { changes: { failedChecks, nextCheckAt: now + pendingInterval(domain, now) }, event: null };
	}
	const missingSince = domain.missingSince ?? now;
	if (now - missingSince >= GIVE_UP_AFTER_MS && failedChecks >= MIN_FAILED_CHECKS) {
		return {
			changes: {
				status: "failed",
				failedChecks,
				missingSince,
				nextCheckAt: null,
				failureReason: `verification lost: ${what} since ${iso(missingSince)}`,
			},
			event: "domain_failed",
		};
	}
	return { changes: { failedChecks, missingSince, nextCheckAt: now + MISSING_RECHECK_MS }, event: null };
}
