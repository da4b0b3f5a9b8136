// The DNS records a sending domain publishes, and how one lookup's answer is judged against each.
// Only the ownership TXT gates sending; the bounce host, SPF and DMARC are guidance until the
// deliverability work makes them the relay's own (docs/domains.md lists them exactly).
import type { GatewayType, RecordCheck, RecordStatus } from "../../db/schema";
import type { Lookup, LookupType } from "./doh";

export const RECORD_PURPOSES = ["ownership", "return_path", "spf", "dmarc"] as const;
export type RecordPurpose = (typeof RECORD_PURPOSES)[number];

export type ExpectedRecord = {
	purpose: RecordPurpose;
	type: LookupType;
	name: string;
	value: string;
	required: boolean;
};

export type RecordView = ExpectedRecord & { status: RecordStatus; found?: string[]; error?: string };

export const OWNERSHIP_PREFIX = "mq-verify=";

/**
 * The SPF mechanism each gateway type's own documentation asks for, or null where there is none to
 * give: the sandbox sends nothing, and an SMTP gateway's servers are the user's own (their IPs go in
 * the SPF record by hand). Resend sends through Amazon SES.
 */
export const SPF_INCLUDES: Record<GatewayType, string | null> = {
	sandbox: null,
	smtp: null,
	mailgun: "include:mailgun.org",
	sendgrid: "include:sendgrid.net",
	ses: "include:amazonses.com",
	resend: "include:amazonses.com",
	postmark: "include:spf.mtasv.net",
	gmail: "include:_spf.google.com",
	cloudflare: "include:_spf.mx.cloudflare.net",
};

export type RecordContext = {
	/** Types of the workspace's enabled gateways. */
	gatewayTypes: readonly GatewayType[];
	/** `INBOUND_MX_HOST`; unset, the bounce host passes with any MX. */
	inboundMxHost: string | undefined;
};

export function ownershipRecord(name: string, token: string): ExpectedRecord {
	return {
		purpose: "ownership",
		type: "TXT",
		name: `_mailqueue.${name}`,
		value: `${OWNERSHIP_PREFIX}${token}`,
		required: true,
	};
}

export function expectedRecords(name: string, token: string, context: RecordContext): ExpectedRecord[] {
	const includes = [...new Set(context.gatewayTypes.map((t) => SPF_INCLUDES[t]).filter((i) => i !== null))].sort();
	const records: ExpectedRecord[] = [
		ownershipRecord(name, token),
		{
			purpose: "return_path",
			type: "MX",
			name: `bounces.${name}`,
			value: `10 ${context.inboundMxHost ?? "<your relay's inbound MX host>"}`,
			required: false,
		},
	];
	if (includes.length > 0) {
		records.push({ purpose: "spf", type: "TXT", name, value: `v=spf1 ${includes.join(" ")} ~all`, required: false });
	}
	records.push({
		purpose: "dmarc",
		type: "TXT",
		name: `_dmarc.${name}`,
		value: `v=DMARC1; p=none; rua=mailto:dmarc-reports@${name}`,
		required: false,
	});
	return records;
}

const SPF = /^v=spf1(\s|$)/i;
const DMARC = /^v=DMARC1(\s|;|$)/i;

function judge(record: ExpectedRecord, values: string[], context: RecordContext): Omit<RecordCheck, "expected" | "at"> {
	switch (record.purpose) {
		case "ownership":
			return values.includes(record.value) ? { status: "ok" } : { status: "wrong", found: values };
		case "return_path": {
			const host = context.inboundMxHost;
			return host === undefined || values.includes(host) ? { status: "ok" } : { status: "wrong", found: values };
		}
		case "spf": {
			const spf = values.filter((v) => SPF.test(v));
			if (spf.length === 0) return { status: "missing" };
			// Two SPF records are a permerror for every receiver (RFC 7208 §4.5).
			if (spf.length > 1) return { status: "wrong", found: spf, error: "more than one SPF record" };
			const terms = new Set((spf[0] ?? "").toLowerCase().split(/\s+/));
			const wanted = record.value.split(/\s+/).filter((t) => t.startsWith("include:"));
			return wanted.every((t) => terms.has(t)) ? { status: "ok" } : { status: "wrong", found: spf };
		}
		case "dmarc":
			return values.some((v) => DMARC.test(v)) ? { status: "ok" } : { status: "missing" };
	}
}

/** One record's check from its lookup. A temporary failure is `try_later`, never `missing`. */
export function checkRecord(record: ExpectedRecord, result: Lookup, context: RecordContext, at: number): RecordCheck {
	const base = { expected: record.value, at };
	if (result.kind === "temporary") return { ...base, status: "try_later", error: result.reason };
	if (result.kind === "none") return { ...base, status: "missing" };
	return { ...base, ...judge(record, result.values, context) };
}

/** The record with its last check, or `unchecked` when it was never checked against this value. */
export function recordView(record: ExpectedRecord, check: RecordCheck | undefined): RecordView {
	if (!check || check.expected !== record.value) return { ...record, status: "unchecked" };
	return {
		...record,
		status: check.status,
		...(check.found ? { found: check.found } : {}),
		...(check.error ? { error: check.error } : {}),
	};
}

/** What a failed ownership check says to a user, for failure reasons and the send error. */
export function describeOwnership(record: ExpectedRecord, check: RecordCheck): string {
	if (check.status === "wrong") {
		return `the TXT record ${record.name} holds ${JSON.stringify(check.found ?? [])} instead of "${record.value}"`;
	}
	return `the TXT record ${record.name} "${record.value}" is missing`;
}
