// Sending domains: a workspace may only send From addresses at its verified domains. Verification by
// DNS TXT arrives with its own issue; a new domain starts `pending` with the record to publish.
import type { Db } from "../db/client";
import { type DomainRecord, deleteDomain, findDomain, insertDomain, listDomains } from "../db/repositories/domains";
import { ApiError, err, ok, type Result } from "../errors";
import { randomToken } from "../lib/crypto";
import { newId } from "../lib/ids";
import { iso } from "../lib/time";
import { forgetPrincipals } from "./auth/principal";

export const DOMAIN_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

export type DomainView = {
	id: string;
	name: string;
	status: DomainRecord["status"];
	dns_records: { type: "TXT"; name: string; value: string }[];
	verified_at: string | null;
	created_at: string;
};

export function domainView(d: DomainRecord): DomainView {
	return {
		id: d.id,
		name: d.name,
		status: d.status,
		dns_records: [{ type: "TXT", name: `_mailqueue.${d.name}`, value: `mq-verify=${d.verificationToken}` }],
		verified_at: iso(d.verifiedAt),
		created_at: iso(d.createdAt),
	};
}

// Send-path principals carry the verified domains; dropping them here makes a change visible at once
// in this isolate (others follow within PRINCIPAL_CACHE_MS).
const forgetWorkspace = (workspaceId: string) => forgetPrincipals((p) => p.workspaceId === workspaceId);

export async function addDomain(db: Db, workspaceId: string, name: string): Promise<Result<DomainView, ApiError>> {
	const created = await insertDomain(db, {
		id: newId("dom"),
		workspaceId,
		name: name.toLowerCase(),
		verificationToken: randomToken(18),
	});
	if (!created) return err(new ApiError("conflict", `The domain ${name.toLowerCase()} is already in this workspace.`));
	forgetWorkspace(workspaceId);
	return ok(domainView(created));
}

export async function domainsOf(db: Db, workspaceId: string): Promise<DomainView[]> {
	return (await listDomains(db, workspaceId)).map(domainView);
}

export async function domainOf(db: Db, workspaceId: string, id: string): Promise<DomainView | null> {
	const found = await findDomain(db, workspaceId, id);
	return found ? domainView(found) : null;
}

export async function removeDomain(db: Db, workspaceId: string, id: string): Promise<boolean> {
	const removed = await deleteDomain(db, workspaceId, id);
	if (removed) forgetWorkspace(workspaceId);
	return removed;
}
