// Names reserved for testing and documentation (RFC 2606, RFC 6761): nobody can publish DNS for
// them, so in development they verify at once (a workspace created locally can send with its
// printed key) and anywhere else they are refused.
const RESERVED_TLDS = ["test", "example", "invalid", "localhost"];
const RESERVED_DOMAINS = ["example.com", "example.net", "example.org"];

export function isReservedName(name: string): boolean {
	const tld = name.slice(name.lastIndexOf(".") + 1);
	return RESERVED_TLDS.includes(tld) || RESERVED_DOMAINS.some((d) => name === d || name.endsWith(`.${d}`));
}
