// Checking a domain's records over DNS: at once for a user (POST /v1/domains/{id}/verify, every
// record) and by the cron (due domains through the `domains_due` index, the ownership TXT only,
// a bounded number per run). What a check decides is written by save.ts.
import type { Db } from "../../db/client";
import { type DomainRecord, findDomain, findDueDomains } from "../../db/repositories/domains";
import type { RecordCheck } from "../../db/schema";
import { errorSummary } from "../../lib/log";
import { count } from "../../lib/metrics";
import { type DomainView, domainView, recordContext } from "../domains";
import type { EventQueues } from "../events/emitter";
import { type DnsConfig, lookup } from "./doh";
import { checkRecord, expectedRecords, ownershipRecord, type RecordContext } from "./records";
import { checkOutcome, commitOutcomes, type Outcome } from "./save";

/** At most this many domains per cron run: each costs one to a few DoH subrequests. */
export const DOMAIN_CHECKS_PER_RUN = 20;
/** Lookups in flight at once during a cron run. */
const CHECK_CONCURRENCY = 5;

export type DomainCheckDeps = {
	db: Db;
	events: EventQueues;
	dns: DnsConfig;
	inboundMxHost: string | undefined;
};

async function checkAll(deps: DomainCheckDeps, domain: DomainRecord, context: RecordContext, now: number) {
	const records = expectedRecords(domain.name, domain.verificationToken, context);
	const results = await Promise.all(records.map((r) => lookup(deps.dns, r.name, r.type)));
	const checks: Record<string, RecordCheck> = {};
	records.forEach((r, i) => {
		const result = results[i];
		if (result) checks[r.purpose] = checkRecord(r, result, context, now);
	});
	return checks;
}

/** Checks every record of the domain now and applies the result; null when the workspace has no such domain. */
export async function verifyDomain(
	deps: DomainCheckDeps,
	workspaceId: string,
	id: string,
	now: number,
): Promise<DomainView | null> {
	const domain = await findDomain(deps.db, workspaceId, id);
	if (!domain) return null;
	const context = await recordContext(deps.db, workspaceId, deps);
	const checks = await checkAll(deps, domain, context, now);
	count("domain_checks_total");
	const [saved] = await commitOutcomes(deps.db, deps.events, [checkOutcome(domain, checks, now, true)]);
	return domainView(saved ?? domain, context);
}

export type RecheckSummary = { checked: number; verified: number; failed: number; tryLater: number };

/**
 * The cron's re-check: due domains (pending with backoff, verified daily, missing hourly), the
 * ownership TXT only. Never throws: a failure is logged and the domains stay due for the next run.
 */
export async function recheckDueDomains(deps: DomainCheckDeps, now: number): Promise<RecheckSummary> {
	const summary: RecheckSummary = { checked: 0, verified: 0, failed: 0, tryLater: 0 };
	try {
		const due = await findDueDomains(deps.db, now, DOMAIN_CHECKS_PER_RUN);
		const outcomes: Outcome[] = [];
		for (let i = 0; i < due.length; i += CHECK_CONCURRENCY) {
			const slice = due.slice(i, i + CHECK_CONCURRENCY);
			const checked = await Promise.all(
				slice.map(async (domain) => {
					const record = ownershipRecord(domain.name, domain.verificationToken);
					const result = await lookup(deps.dns, record.name, record.type);
					const check = checkRecord(record, result, { gatewayTypes: [], inboundMxHost: undefined }, now);
					if (check.status === "try_later") summary.tryLater++;
					return checkOutcome(domain, { ownership: check }, now, false);
				}),
			);
			outcomes.push(...checked);
		}
		if (outcomes.length === 0) return summary;
		await commitOutcomes(deps.db, deps.events, outcomes);
		summary.checked = outcomes.length;
		summary.verified = outcomes.filter((o) => o.update.event?.type === "domain_verified").length;
		summary.failed = outcomes.filter((o) => o.update.event?.type === "domain_failed").length;
		count("domain_checks_total", outcomes.length);
		// Quiet when nothing happened: pending domains are looked at every minute.
		if (summary.verified + summary.failed + summary.tryLater > 0) {
			console.log(
				`domain checks: checked=${summary.checked} verified=${summary.verified} failed=${summary.failed} try_later=${summary.tryLater}`,
			);
		}
	} catch (error) {
		console.error("cron: domain checks failed", { error: errorSummary(error) });
	}
	return summary;
}
