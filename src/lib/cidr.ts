// IPv4/IPv6 CIDR matching for API key allowlists.

function parseIpv4(ip: string): bigint | null {
	const parts = ip.split(".");
	if (parts.length !== 4) return null;
	let value = 0n;
	for (const part of parts) {
		if (!/^\d{1,3}$/.test(part)) return null;
		const n = Number(part);
		if (n > 255) return null;
		value = (value << 8n) | BigInt(n);
	}
	return value;
}

function parseIpv6(ip: string): bigint | null {
	if (!/^[0-9a-fA-F:.]+$/.test(ip)) return null;
	let text = ip;
	// An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
	const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
	if (v4?.[1]) {
		const n = parseIpv4(v4[1]);
		if (n === null) return null;
		text = `${text.slice(0, -v4[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
	}
	const halves = text.split("::");
	if (halves.length > 2) return null;
	const head = halves[0] ? halves[0].split(":") : [];
	const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
	const missing = 8 - head.length - tail.length;
	if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
	const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
	let value = 0n;
	for (const group of groups) {
		if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
		value = (value << 16n) | BigInt(Number.parseInt(group, 16));
	}
	return value;
}

type Parsed = { version: 4 | 6; value: bigint };

export function parseIp(ip: string): Parsed | null {
	const v4 = parseIpv4(ip);
	if (v4 !== null) return { version: 4, value: v4 };
	const v6 = parseIpv6(ip);
	if (v6 === null) return null;
	// IPv4-mapped IPv6 addresses match IPv4 ranges.
	if (v6 >> 32n === 0xffffn) return { version: 4, value: v6 & 0xffffffffn };
	return { version: 6, value: v6 };
}

/** True for `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128). */
export function isValidCidr(cidr: string): boolean {
	return parseCidr(cidr) !== null;
}

function parseCidr(cidr: string): { net: Parsed; bits: number } | null {
	const [address, prefix, extra] = cidr.trim().split("/");
	if (extra !== undefined || !address) return null;
	const net = parseIp(address);
	if (!net) return null;
	const max = net.version === 4 ? 32 : 128;
	if (prefix === undefined) return { net, bits: max };
	if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return null;
	return { net, bits: Number(prefix) };
}

export function ipInCidr(ip: string, cidr: string): boolean {
	const addr = parseIp(ip);
	const range = parseCidr(cidr);
	if (!addr || !range || addr.version !== range.net.version) return false;
	const width = BigInt(addr.version === 4 ? 32 : 128);
	const shift = width - BigInt(range.bits);
	return addr.value >> shift === range.net.value >> shift;
}

export function ipAllowed(ip: string | null, allowlist: readonly string[]): boolean {
	if (allowlist.length === 0) return true;
	if (!ip) return false;
	return allowlist.some((cidr) => ipInCidr(ip, cidr));
}

/** True when every address of `inner` (a CIDR range or address) is inside `outer`. */
export function cidrWithin(inner: string, outer: string): boolean {
	const a = parseCidr(inner);
	const b = parseCidr(outer);
	if (!a || !b || a.net.version !== b.net.version || a.bits < b.bits) return false;
	const width = BigInt(a.net.version === 4 ? 32 : 128);
	const shift = width - BigInt(b.bits);
	return a.net.value >> shift === b.net.value >> shift;
}
