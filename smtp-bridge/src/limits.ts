import { BlockList, isIP } from "node:net";

// Per-IP limits: open connections, and AUTH failures in a sliding window (a password guesser is cut
// off before it can try many keys; the Worker's own 401s stay cheap because of its key cache).

export class PerIpCounter {
	private readonly open = new Map<string, number>();

	constructor(private readonly max: number) {}

	/** Counts a connection in; false when the IP already has `max` open. */
	acquire(ip: string): boolean {
		const n = this.open.get(ip) ?? 0;
		if (n >= this.max) return false;
		this.open.set(ip, n + 1);
		return true;
	}

	release(ip: string): void {
		const n = (this.open.get(ip) ?? 0) - 1;
		if (n <= 0) this.open.delete(ip);
		else this.open.set(ip, n);
	}
}

export class FailureWindow {
	private readonly failures = new Map<string, number[]>();

	constructor(
		private readonly limit: number,
		private readonly windowMs: number,
	) {}

	private recent(ip: string, now: number): number[] {
		const list = (this.failures.get(ip) ?? []).filter((t) => t > now - this.windowMs);
		if (list.length === 0) this.failures.delete(ip);
		else this.failures.set(ip, list);
		return list;
	}

	blocked(ip: string, now = Date.now()): boolean {
		return this.recent(ip, now).length >= this.limit;
	}

	record(ip: string, now = Date.now()): void {
		this.failures.set(ip, [...this.recent(ip, now), now]);
	}
}

/** Membership in a CIDR list; IPv4-mapped IPv6 addresses match their IPv4 ranges. */
export function networkList(ranges: readonly string[]): (ip: string) => boolean {
	const list = new BlockList();
	for (const range of ranges) {
		const [address = "", bits = ""] = range.split("/");
		list.addSubnet(address, Number(bits), isIP(address) === 4 ? "ipv4" : "ipv6");
	}
	return (ip) => ranges.length > 0 && isIP(ip) !== 0 && list.check(ip, isIP(ip) === 4 ? "ipv4" : "ipv6");
}

export function isLoopback(ip: string): boolean {
	const v4 = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
	return v4.startsWith("127.") || ip === "::1";
}
