// What the inbound classifier (./classify.ts) answers for one raw message: the shape of
// `POST /v1/inbound/classify` and what the Email Worker acts on.
import type { BounceReason } from "../feedback/model";

export const INBOUND_KINDS = ["bounce", "complaint", "auto_reply", "other"] as const;
export type InboundKind = (typeof INBOUND_KINDS)[number];

export type ClassifiedRecipient = {
	recipient: string;
	/** RFC 3464 Action (`failed`, `delayed`, `delivered`, `relayed`, `expanded`), or the equivalent read from a non-standard form. */
	action: string;
	/** Enhanced status code, e.g. `5.1.1`; null when the message gives none and none can be inferred. */
	status: string | null;
	reason: BounceReason;
	/** True only for a failed recipient whose reason says the address is dead (HARD_REASONS); never for a delay. */
	hard: boolean;
	diagnostic: string | null;
};

export type Classification = {
	kind: InboundKind;
	recipients: ClassifiedRecipient[];
	/** Message-ID of the message this report is about, when the report carries it (DSN/ARF attachment). */
	originalMessageId?: string | null;
	/** Our X-Mail-Queue-Id of the original message, when the report quotes its headers. */
	originalQueueId?: string | null;
	/** ARF Feedback-Type (`abuse`, `fraud`, …) for complaints. */
	feedbackType?: string | null;
};
