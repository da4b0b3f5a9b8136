// Drives the fake DNS-over-HTTPS resolver of local-servers.ts from tests in workerd: set what a name
// answers, and the env that points the relay at it.
import { inject } from "vitest";
import type { Env } from "../../src/env";

const TYPES = { TXT: 16, MX: 15, CNAME: 5 } as const;
type Rr = { name: string; type: number; data: string };

export const dohBase = () => `http://127.0.0.1:${inject("localServers").doh}`;

/** Bindings that send the relay's lookups to the fake resolver, with a short lookup timeout. */
export function dohEnv(extra: Record<string, string> = {}): Partial<Env> {
	return { DOH_URL: `${dohBase()}/dns-query`, DOH_TIMEOUT_MS: "400", ...extra } as unknown as Partial<Env>;
}

export type Entry = { status?: number; answer?: Rr[]; delayMs?: number; http?: number } | null;

export async function setDns(name: string, type: "TXT" | "MX", entry: Entry): Promise<void> {
	const res = await fetch(`${dohBase()}/zone`, { method: "PUT", body: JSON.stringify({ name, type, entry }) });
	if (!res.ok) throw new Error(`fake DoH zone update failed: ${res.status}`);
}

/** A TXT record as Cloudflare presents it: each character-string quoted, separated by spaces. */
export const txtRr = (name: string, ...strings: string[]): Rr => ({
	name: `${name}.`,
	type: TYPES.TXT,
	data: strings.map((s) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(" "),
});
export const cnameRr = (name: string, target: string): Rr => ({
	name: `${name}.`,
	type: TYPES.CNAME,
	data: `${target}.`,
});
export const mxRr = (name: string, host: string): Rr => ({ name: `${name}.`, type: TYPES.MX, data: `10 ${host}.` });

/** Publishes TXT strings at `name` (each argument one record; an array is one record split into strings). */
export function publishTxt(name: string, ...records: (string | string[])[]): Promise<void> {
	const answer = records.map((r) => txtRr(name, ...(Array.isArray(r) ? r : [r])));
	return setDns(name, "TXT", { answer });
}

export const servfail = (name: string) => setDns(name, "TXT", { status: 2 });
export const removeDns = (name: string, type: "TXT" | "MX" = "TXT") => setDns(name, type, null);

export async function queriesFor(name: string): Promise<number> {
	const res = await fetch(`${dohBase()}/queries`);
	const list = (await res.json()) as { name: string }[];
	return list.filter((q) => q.name === name).length;
}

/** A domain name nobody else's test uses, outside the reserved test names. */
let n = 0;
export const uniqueDomain = (label = "mail") =>
	`${label}-${crypto.randomUUID().slice(0, 8)}${(n++).toString(36)}.mq-dns-test.net`;

/** A domain as the API answers it. */
export type Domain = {
	id: string;
	name: string;
	status: string;
	verified_by: string | null;
	include_subdomains: boolean;
	failure_reason: string | null;
	next_check_at: string | null;
	records: {
		purpose: string;
		type: string;
		name: string;
		value: string;
		required: boolean;
		status: string;
		found?: string[];
	}[];
};
