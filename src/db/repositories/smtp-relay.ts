// Who owns a sender domain, for unauthenticated relay from the bridge's trusted networks: the active
// workspaces that verified it (more than one means the relay cannot tell, and refuses).
// With its named queues, so a relayed message's X-Queue resolves as on POST /v1/emails.
export type DomainOwner = { workspaceId: string; sandbox: boolean; queues: { id: string; name: string }[] };

export async function verifiedDomainOwners(d1: D1Database, domain: string): Promise<DomainOwner[]> {
	const { results } = await d1
		.prepare(
			`SELECT w.id AS workspace_id, w.sandbox_mode AS sandbox,
			   (SELECT json_group_array(json_object('id', q.id, 'name', q.name)) FROM queues q WHERE q.workspace_id = w.id)
			     AS queues
			 FROM domains d JOIN workspaces w ON w.id = d.workspace_id
			 WHERE d.name = ?1 AND d.status = 'verified' AND w.status = 'active'
			 LIMIT 2`,
		)
		.bind(domain)
		.all<{ workspace_id: string; sandbox: number; queues: string }>();
	return results.map((r) => ({
		workspaceId: r.workspace_id,
		sandbox: r.sandbox === 1,
		queues: JSON.parse(r.queues) as { id: string; name: string }[],
	}));
}
