// One classified recipient: the reason from status and words, `hard` only for dead-address reasons.
import { bounceKind } from "../feedback/model";
import type { ClassifiedRecipient } from "./model";
import { classifyReason } from "./reason";

export function classifiedRecipient(input: {
	recipient: string;
	action: string;
	status: string | null;
	diagnostic: string | null;
}): ClassifiedRecipient {
	const diagnostic = input.diagnostic ? input.diagnostic.replace(/\s+/g, " ").trim().slice(0, 1000) || null : null;
	const reason = classifyReason(input.status, diagnostic);
	return {
		recipient: input.recipient,
		action: input.action,
		status: input.status,
		reason,
		hard: bounceKind(reason, input.status) === "hard_bounce",
		diagnostic,
	};
}
