// RFC 3464 delivery status notifications: the per-recipient blocks of a message/delivery-status part
// (Final-Recipient, Action, Status, Diagnostic-Code), failed and delayed recipients only.

import { field, parseFieldBlocks, typedAddress, typedText } from "./fields";
import type { ClassifiedRecipient } from "./model";
import { normalizeStatus } from "./reason";
import { classifiedRecipient } from "./recipient";
import { statusIn } from "./status";

const BOUNCING_ACTIONS = new Set(["failed", "delayed"]);

export type DsnRecipients = {
	bounced: ClassifiedRecipient[];
	/** Recipients the report says were delivered, relayed or expanded: a DSN that is not a bounce. */
	others: number;
};

/**
 * Reads every per-recipient block. `hint` is the human-readable part's text, used for the
 * diagnostic when a block gives none (some MTAs put the remote reply only there).
 */
export function parseDeliveryStatus(text: string, hint: (recipient: string) => string | null): DsnRecipients {
	const bounced: ClassifiedRecipient[] = [];
	let others = 0;
	const seen = new Set<string>();
	for (const block of parseFieldBlocks(text)) {
		const recipient = typedAddress(field(block, "final-recipient")) ?? typedAddress(field(block, "original-recipient"));
		if (recipient === null) continue;
		const action = (field(block, "action") ?? "").toLowerCase().split(/[\s(]/)[0] ?? "";
		const diagnostic = typedText(field(block, "diagnostic-code")) ?? hint(recipient);
		const given = normalizeStatus(field(block, "status"));
		const status = betterStatus(given, statusIn(diagnostic));
		const resolved = action !== "" ? action : status?.startsWith("4") ? "delayed" : "failed";
		if (!BOUNCING_ACTIONS.has(resolved)) {
			others++;
			continue;
		}
		if (seen.has(recipient)) continue;
		seen.add(recipient);
		bounced.push(classifiedRecipient({ recipient, action: resolved, status, diagnostic }));
	}
	return { bounced, others };
}

/**
 * The Status field, unless it is a bare class (`5.0.0`) and the remote reply names a more specific
 * code of the same class: many MTAs write 5.0.0 over a remote "550 5.1.1".
 */
function betterStatus(given: string | null, fromDiagnostic: string | null): string | null {
	if (given === null) return fromDiagnostic;
	if (fromDiagnostic && given.endsWith(".0.0") && fromDiagnostic[0] === given[0] && !fromDiagnostic.endsWith(".0.0")) {
		return fromDiagnostic;
	}
	return given;
}
