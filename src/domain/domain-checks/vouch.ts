// An operator vouching for a domain whose DNS cannot be checked (the platform API, issue 12): the
// domain is verified `by: "platform"`, never re-checked by the cron, and its TXT going missing
// changes nothing. Withdrawing the word puts it back to pending, where DNS decides again.
import type { Db } from "../../db/client";
import { findDomainByName, insertDomain } from "../../db/repositories/domains";
import { findWorkspace } from "../../db/repositories/workspaces";
import { ApiError, err, ok, type Result } from "../../errors";
import { randomToken } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { type DomainView, domainView, recordContext, type ViewContext } from "../domains";
import type { EventQueues } from "../events/emitter";
import { PENDING_FAST_INTERVAL_MS } from "./lifecycle";
import { isReservedName } from "./reserved";
import { commitOutcomes, transitionOutcome } from "./save";

export type VouchDeps = ViewContext & { db: Db; events: EventQueues; development: boolean };

/**
 * Sets whether the platform vouches for the workspace's domain `name`, adding the domain when the
 * workspace does not have it yet (so an operator sets a workspace up in one call).
 */
export async function vouchForDomain(
	deps: VouchDeps,
	workspaceId: string,
	name: string,
	verified: boolean,
	now: number,
): Promise<Result<DomainView, ApiError>> {
	const lower = name.toLowerCase();
	if (isReservedName(lower) && !deps.development) {
		return err(
			new ApiError("validation_error", `${lower} is a name reserved for testing; it cannot be vouched for here.`),
		);
	}
	if (!(await findWorkspace(deps.db, workspaceId))) return err(new ApiError("not_found", "No workspace with this id."));
	let domain = await findDomainByName(deps.db, workspaceId, lower);
	domain ??= await insertDomain(deps.db, {
		id: newId("dom"),
		workspaceId,
		name: lower,
		verificationToken: randomToken(18),
		pendingSince: now,
		nextCheckAt: now + PENDING_FAST_INTERVAL_MS,
	});
	// Two operators adding the same name at once: the other insert won, so read it.
	domain ??= await findDomainByName(deps.db, workspaceId, lower);
	if (!domain) return err(new ApiError("internal_error", "The domain could not be added."));

	const already = domain.status === "verified" && domain.verifiedBy === "platform";
	const transition = verified
		? {
				changes: {
					status: "verified" as const,
					verifiedBy: "platform" as const,
					verifiedAt: already ? domain.verifiedAt : now,
					nextCheckAt: null,
					missingSince: null,
					failedChecks: 0,
					failureReason: null,
				},
				event: domain.status === "verified" ? null : ("domain_verified" as const),
			}
		: {
				changes: {
					status: "pending" as const,
					verifiedBy: null,
					verifiedAt: null,
					pendingSince: now,
					nextCheckAt: now + PENDING_FAST_INTERVAL_MS,
					failedChecks: 0,
					failureReason: null,
				},
				event: null,
			};
	// Withdrawing only undoes the platform's own word; a domain DNS verified stays verified.
	if (!verified && domain.verifiedBy !== "platform") {
		return ok(domainView(domain, await recordContext(deps.db, workspaceId, deps)));
	}
	const [saved] = await commitOutcomes(deps.db, deps.events, [
		transitionOutcome(domain, transition, {}, now, "platform"),
	]);
	return ok(domainView(saved ?? domain, await recordContext(deps.db, workspaceId, deps)));
}
