// The one way to reach a Durable Object: by its deterministic name (DESIGN.md "Storage").

export function getStub<T extends Rpc.DurableObjectBranded | undefined>(
	namespace: DurableObjectNamespace<T>,
	name: string,
): DurableObjectStub<T> {
	return namespace.get(namespace.idFromName(name));
}

/** FNV-1a, for spreading keys over shards; not a security hash. */
export function fnv1a(text: string): number {
	let hash = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		hash ^= text.charCodeAt(i);
		hash = Math.imul(hash, 0x01000193);
	}
	return hash >>> 0;
}

/** The GatewayBreaker of one gateway: `gw:<gatewayId>` (DESIGN.md "Storage"). */
export function getBreaker<T extends Rpc.DurableObjectBranded | undefined>(
	namespace: DurableObjectNamespace<T>,
	gatewayId: string,
): DurableObjectStub<T> {
	return getStub(namespace, `gw:${gatewayId}`);
}
