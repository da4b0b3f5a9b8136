// RFC 5965 abuse feedback reports (feedback loops): one complaint for the original recipient, read
// from Original-Rcpt-To or else from the reported message's To header (many loops redact both).

import { type Fields, field, parseFieldBlocks, typedAddress } from "./fields";
import type { ClassifiedRecipient } from "./model";

export type FeedbackReport = { feedbackType: string | null; recipients: ClassifiedRecipient[] };

export function parseFeedbackReport(report: string, original: Fields | null): FeedbackReport {
	const fields = parseFieldBlocks(report)[0] ?? new Map<string, string[]>();
	const feedbackType = field(fields, "feedback-type")?.toLowerCase().split(/[\s;]/)[0] ?? null;
	const listed = [...(fields.get("original-rcpt-to") ?? []), ...(fields.get("removal-recipient") ?? [])]
		.map((value) => typedAddress(value))
		.filter((value): value is string => value !== null);
	const quoted = original ? addressesOf(field(original, "to")) : [];
	const recipients = [...new Set(listed.length > 0 ? listed : quoted)];
	return {
		feedbackType,
		recipients: recipients.map((recipient) => ({
			recipient,
			action: "complained",
			status: null,
			reason: "spam",
			hard: false,
			diagnostic: feedbackType ? `feedback-type: ${feedbackType}` : null,
		})),
	};
}

/** Addresses of an address-list header value (display names and groups dropped). */
export function addressesOf(value: string | null): string[] {
	if (value === null) return [];
	const found = value.match(/[^\s<>()",;:]+@[^\s<>()",;:]+\.[a-z0-9-]+/gi) ?? [];
	return found.map((address) => address.toLowerCase());
}
