// DNS over HTTPS with the JSON API (`accept: application/dns-json`, the schema Cloudflare and Google
// share) for domain checks: one lookup with a timeout, CNAME chains followed, TXT character-strings
// joined. Whatever keeps the resolver from answering (SERVFAIL, REFUSED, a timeout, an HTTP error,
// a body that is not DNS JSON) is `temporary`: the caller tries later and never reads it as missing.
import { z } from "zod";

/** More hops than this is a loop or a misconfiguration; real chains are one or two long. */
export const DOH_MAX_CNAME_HOPS = 8;

export type DnsConfig = {
	/** The DoH JSON endpoint (`DOH_URL`). */
	url: string;
	/** Longest one resolver request may take (`DOH_TIMEOUT_MS`). */
	timeoutMs: number;
	/** The outbound fetch; tests may pass their own. */
	fetch: typeof fetch;
};

export type LookupType = "TXT" | "MX";
const TYPE_CODE = { TXT: 16, MX: 15 } as const;
const CNAME = 5;
const NOERROR = 0;
const NXDOMAIN = 3;
const RCODE_NAMES: Record<number, string> = { 1: "FORMERR", 2: "SERVFAIL", 4: "NOTIMP", 5: "REFUSED" };

export type Lookup =
	/** `values` are TXT strings (joined) or MX hosts; `via` the CNAME targets followed to reach them. */
	| { kind: "found"; values: string[]; via: string[] }
	/** The name does not exist (NXDOMAIN) or has no record of this type (NOERROR, empty). */
	| { kind: "none"; rcode: "NOERROR" | "NXDOMAIN"; via: string[] }
	| { kind: "temporary"; reason: string };

const answerSchema = z.object({
	Status: z.number().int(),
	Answer: z.array(z.object({ name: z.string(), type: z.number().int(), data: z.string() })).optional(),
});
type Answer = z.infer<typeof answerSchema>;

const normalize = (name: string) => name.trim().toLowerCase().replace(/\.$/, "");
const temporary = (reason: string): Lookup => ({ kind: "temporary", reason });

async function ask(dns: DnsConfig, name: string, type: LookupType): Promise<Answer | Lookup> {
	const url = new URL(dns.url);
	url.searchParams.set("name", name);
	url.searchParams.set("type", type);
	try {
		const response = await dns.fetch(url, {
			headers: { accept: "application/dns-json" },
			signal: AbortSignal.timeout(dns.timeoutMs),
		});
		if (!response.ok) return temporary(`the resolver answered HTTP ${response.status}`);
		const parsed = answerSchema.safeParse(await response.json());
		return parsed.success ? parsed.data : temporary("the resolver's answer is not DNS JSON");
	} catch (error) {
		const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
		if (timedOut) return temporary(`the resolver did not answer within ${dns.timeoutMs} ms`);
		if (error instanceof SyntaxError) return temporary("the resolver's answer is not DNS JSON");
		return temporary("the resolver could not be reached");
	}
}

/** The records of `type` at `name`, following CNAMEs inside an answer and, where the resolver stops at one, across answers. */
export async function lookup(dns: DnsConfig, name: string, type: LookupType): Promise<Lookup> {
	const via: string[] = [];
	let target = normalize(name);
	for (let query = 0; query <= DOH_MAX_CNAME_HOPS; query++) {
		const answer = await ask(dns, target, type);
		if ("kind" in answer) return answer;
		if (answer.Status !== NOERROR && answer.Status !== NXDOMAIN) {
			return temporary(`the resolver answered ${RCODE_NAMES[answer.Status] ?? `RCODE ${answer.Status}`}`);
		}
		const records = answer.Answer ?? [];
		let current = target;
		for (;;) {
			const direct = records.filter((r) => r.type === TYPE_CODE[type] && normalize(r.name) === current);
			if (direct.length > 0) {
				return { kind: "found", values: direct.map((r) => (type === "TXT" ? txtValue(r.data) : mxHost(r.data))), via };
			}
			const alias = records.find((r) => r.type === CNAME && normalize(r.name) === current);
			if (!alias) break;
			current = normalize(alias.data);
			via.push(current);
			if (via.length > DOH_MAX_CNAME_HOPS) return temporary(`more than ${DOH_MAX_CNAME_HOPS} CNAMEs from ${name}`);
		}
		if (answer.Status === NXDOMAIN) return { kind: "none", rcode: "NXDOMAIN", via };
		// No CNAME to follow: the name exists and has nothing of this type.
		if (current === target) return { kind: "none", rcode: "NOERROR", via };
		// The resolver stopped at a CNAME (some do not chase out-of-zone targets): ask for the target.
		target = current;
	}
	return temporary(`more than ${DOH_MAX_CNAME_HOPS} CNAMEs from ${name}`);
}

/**
 * One TXT record's value. Resolvers present it as RFC 1035 character-strings, each quoted and
 * separated by spaces (`"v=spf1 inc" "lude:x ~all"`), with `\"`, `\\` and `\DDD` escapes; a record
 * longer than 255 bytes is always split, and its strings are joined with nothing (RFC 7208 §3.3).
 * Some resolvers send the value already joined and unquoted; that is taken as it is.
 */
export function txtValue(data: string): string {
	const text = data.trim();
	if (!text.startsWith('"')) return text;
	let out = "";
	let quoted = false;
	for (let i = 0; i < text.length; i++) {
		const c = text[i];
		if (c === '"') quoted = !quoted;
		else if (!quoted) continue;
		else if (c === "\\") {
			const digits = text.slice(i + 1, i + 4);
			if (/^\d{3}$/.test(digits)) {
				out += String.fromCharCode(Number(digits));
				i += 3;
			} else {
				out += text[i + 1] ?? "";
				i += 1;
			}
		} else out += c;
	}
	return out;
}

/** `10 mx.example.net.` → `mx.example.net`. */
function mxHost(data: string): string {
	const parts = data.trim().split(/\s+/);
	return normalize(parts[parts.length - 1] ?? "");
}
