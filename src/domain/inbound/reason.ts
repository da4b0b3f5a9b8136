// The bounce reason of one recipient, from its enhanced status code (RFC 3463) and the remote MTA's
// words: a status that names the cause decides, then the words, then the status class and subject.
import type { BounceReason } from "../feedback/model";
import { REASON_PATTERNS } from "./reason-patterns";

/** Status codes specific enough that no wording overrides them. */
const DECISIVE: Record<string, BounceReason> = {
	"1.1": "user_unknown",
	"1.2": "host_unknown",
	"1.6": "has_moved",
	"1.10": "host_unknown",
	"2.2": "mailbox_full",
	"4.7": "expired",
	"7.13": "user_unknown",
	"7.17": "has_moved",
	"7.18": "has_moved",
	"7.19": "has_moved",
	"7.20": "auth_failure",
	"7.21": "auth_failure",
	"7.22": "auth_failure",
	"7.23": "auth_failure",
	"7.24": "auth_failure",
	"7.25": "auth_failure",
	"7.26": "auth_failure",
	"7.29": "auth_failure",
};

/** What the subject and detail say when the words say nothing more. */
const FALLBACK: Record<string, BounceReason> = {
	"1.0": "user_unknown",
	"1.3": "user_unknown",
	"1.4": "user_unknown",
	"1.5": "user_unknown",
	"1.7": "rejected",
	"1.8": "rejected",
	"2.1": "user_unknown",
	"2.3": "other",
	"2.4": "system",
	"3.0": "system",
	"3.1": "system",
	"3.2": "system",
	"3.3": "system",
	"3.4": "other",
	"3.5": "system",
	"4.0": "network",
	"4.1": "network",
	"4.2": "network",
	"4.3": "network",
	"4.4": "host_unknown",
	"4.5": "too_many_connections",
	"4.6": "system",
	"5.3": "policy",
	"6.0": "filtered",
	"7.0": "policy",
	"7.1": "policy",
	"7.2": "policy",
	"7.5": "auth_failure",
	"7.6": "auth_failure",
	"7.7": "auth_failure",
	"7.8": "auth_failure",
	"7.9": "auth_failure",
	"7.14": "auth_failure",
	"7.27": "rejected",
	"7.28": "spam",
};

const STATUS_RE = /^[245]\.\d{1,3}\.\d{1,3}$/;

/** The enhanced status code, or null when `status` is not one (`5.1.1`, not `550` or `5.1.1 (x)`). */
export function normalizeStatus(status: string | null | undefined): string | null {
	const trimmed = status?.trim().split(/\s/)[0] ?? "";
	return STATUS_RE.test(trimmed) ? trimmed : null;
}

function subjectDetail(status: string): string {
	return status.split(".").slice(1).join(".");
}

export function reasonFromText(text: string): BounceReason | null {
	for (const [reason, pattern] of REASON_PATTERNS) if (pattern.test(text)) return reason;
	return null;
}

export function classifyReason(status: string | null, diagnostic: string | null): BounceReason {
	const detail = status ? subjectDetail(status) : null;
	const decided = detail ? DECISIVE[detail] : undefined;
	if (decided) return decided;
	const fromText = diagnostic ? reasonFromText(diagnostic) : null;
	if (fromText) return fromText;
	if (detail) {
		const fallback = FALLBACK[detail] ?? FALLBACK[`${detail.split(".")[0]}.0`];
		if (fallback) return fallback;
	}
	return "other";
}
