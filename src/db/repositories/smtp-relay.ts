// Who owns a sender domain, for unauthenticated relay from the bridge's trusted networks: the active
// workspaces that verified it (more than one means the relay cannot tell, and refuses).
export type DomainOwner = { workspaceId: string; sandbox: boolean };

export async function verifiedDomainOwners(d1: D1Database, domain: string): Promise<DomainOwner[]> {
	const { results } = await d1
		.prepare(
			`SELECT w.id AS workspace_id, w.sandbox_mode AS sandbox
			 FROM domains d JOIN workspaces w ON w.id = d.workspace_id
			 WHERE d.name = ?1 AND d.status = 'verified' AND w.status = 'active'
			 LIMIT 2`,
		)
		.bind(domain)
		.all<{ workspace_id: string; sandbox: number }>();
	return results.map((r) => ({ workspaceId: r.workspace_id, sandbox: r.sandbox === 1 }));
}
