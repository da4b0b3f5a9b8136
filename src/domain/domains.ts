// Sending domains: a workspace may only send From addresses at its verified domains. A new domain
// starts `pending` with the records to publish and is verified over DNS (src/domain/domain-checks);
// in development, reserved test names verify at once.
import type { Db } from "../db/client";
import {
	type DomainRecord,
	deleteDomain,
	enabledGatewayTypes,
	findDomain,
	insertDomain,
	listDomains,
	saveDomainUpdates,
} from "../db/repositories/domains";
import { ApiError, err, ok, type Result } from "../errors";
import { randomToken } from "../lib/crypto";
import { newId } from "../lib/ids";
import { iso } from "../lib/time";
import { forgetPrincipals } from "./auth/principal";
import { PENDING_FAST_INTERVAL_MS } from "./domain-checks/lifecycle";
import { expectedRecords, type RecordContext, type RecordView, recordView } from "./domain-checks/records";
import { isReservedName } from "./domain-checks/reserved";

export const DOMAIN_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

export type DomainView = {
	id: string;
	name: string;
	status: DomainRecord["status"];
	include_subdomains: boolean;
	/** What published the records: `dns`, `platform` (an operator vouched) or `development`. */
	verified_by: DomainRecord["verifiedBy"];
	records: RecordView[];
	failure_reason: string | null;
	verified_at: string | null;
	last_checked_at: string | null;
	next_check_at: string | null;
	created_at: string;
};

/** What the records depend on beyond the domain itself. */
export type ViewContext = { inboundMxHost: string | undefined };

export function domainView(d: DomainRecord, context: RecordContext): DomainView {
	return {
		id: d.id,
		name: d.name,
		status: d.status,
		include_subdomains: d.includeSubdomains,
		verified_by: d.verifiedBy,
		records: expectedRecords(d.name, d.verificationToken, context).map((r) => recordView(r, d.recordChecks[r.purpose])),
		failure_reason: d.failureReason,
		verified_at: iso(d.verifiedAt),
		last_checked_at: iso(d.lastCheckedAt),
		next_check_at: iso(d.nextCheckAt),
		created_at: iso(d.createdAt),
	};
}

export async function recordContext(db: Db, workspaceId: string, view: ViewContext): Promise<RecordContext> {
	return { gatewayTypes: await enabledGatewayTypes(db, workspaceId), inboundMxHost: view.inboundMxHost };
}

// Send-path principals carry the verified domains; dropping them here makes a change visible at once
// in this isolate (others follow within PRINCIPAL_CACHE_MS).
export const forgetWorkspace = (workspaceId: string) => forgetPrincipals((p) => p.workspaceId === workspaceId);

export type NewDomain = { name: string; includeSubdomains: boolean };
export type AddOptions = ViewContext & { development: boolean; now: number };

export async function addDomain(
	db: Db,
	workspaceId: string,
	input: NewDomain,
	options: AddOptions,
): Promise<Result<DomainView, ApiError>> {
	const name = input.name.toLowerCase();
	const reserved = isReservedName(name);
	if (reserved && !options.development) {
		return err(
			new ApiError(
				"validation_error",
				`${name} is a name reserved for testing (.test, .example, .invalid, .localhost, example.com/net/org); nobody can publish DNS for it, so it can only be added in the development environment.`,
				[{ path: "name", message: "is a reserved test name" }],
			),
		);
	}
	const now = options.now;
	const created = await insertDomain(db, {
		id: newId("dom"),
		workspaceId,
		name,
		includeSubdomains: input.includeSubdomains,
		verificationToken: randomToken(18),
		...(reserved
			? { status: "verified" as const, verifiedBy: "development" as const, verifiedAt: now }
			: { pendingSince: now, nextCheckAt: now + PENDING_FAST_INTERVAL_MS }),
	});
	if (!created) return err(new ApiError("conflict", `The domain ${name} is already in this workspace.`));
	forgetWorkspace(workspaceId);
	return ok(domainView(created, await recordContext(db, workspaceId, options)));
}

export async function domainsOf(db: Db, workspaceId: string, view: ViewContext): Promise<DomainView[]> {
	const [rows, context] = await Promise.all([listDomains(db, workspaceId), recordContext(db, workspaceId, view)]);
	return rows.map((d) => domainView(d, context));
}

export async function domainOf(db: Db, workspaceId: string, id: string, view: ViewContext): Promise<DomainView | null> {
	const found = await findDomain(db, workspaceId, id);
	return found ? domainView(found, await recordContext(db, workspaceId, view)) : null;
}

/** Changes what the domain covers; a change of who may send applies at once in this isolate. */
export async function updateDomainSettings(
	db: Db,
	workspaceId: string,
	id: string,
	changes: { includeSubdomains?: boolean | undefined },
	view: ViewContext,
): Promise<DomainView | null> {
	const found = await findDomain(db, workspaceId, id);
	if (!found) return null;
	if (changes.includeSubdomains === undefined) return domainView(found, await recordContext(db, workspaceId, view));
	const [saved] = await saveDomainUpdates(db, [{ id, changes: { includeSubdomains: changes.includeSubdomains } }]);
	forgetWorkspace(workspaceId);
	return domainView(saved ?? found, await recordContext(db, workspaceId, view));
}

export async function removeDomain(db: Db, workspaceId: string, id: string): Promise<boolean> {
	const removed = await deleteDomain(db, workspaceId, id);
	if (removed) forgetWorkspace(workspaceId);
	return removed;
}
