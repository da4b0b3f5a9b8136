// The feedback seam (inbound issue): what a bounce, a complaint, a provider event or a tracking hit
// says about one recipient of one message. Every source (the Email Worker's classifier, the SMTP
// bridge's MX mode, provider event webhooks, tracking) turns what it heard into `Feedback` and hands
// it to `recordFeedback` (./record.ts), the one place that updates the recipient's status, the
// recipients table, the suppression list and the reputation counters and emits the event.

/** DESIGN.md "Events, tracking, inbound": the bounce reason taxonomy. */
export const BOUNCE_REASONS = [
	"user_unknown",
	"host_unknown",
	"has_moved",
	"mailbox_full",
	"expired",
	"blocked",
	"policy",
	"spam",
	"auth_failure",
	"rejected",
	"too_many_connections",
	"network",
	"system",
	"filtered",
	"other",
] as const;
export type BounceReason = (typeof BOUNCE_REASONS)[number];

/** Reasons that say the address itself is dead: a hard bounce, suppressed at once. */
export const HARD_REASONS: ReadonlySet<BounceReason> = new Set(["user_unknown", "host_unknown", "has_moved"]);
/** Reasons that say the *sender* was refused: with a 5.x.x status a reject, counted against reputation. */
export const SENDER_REASONS: ReadonlySet<BounceReason> = new Set([
	"blocked",
	"policy",
	"spam",
	"auth_failure",
	"rejected",
]);

/** Seed 001's Mandrill-style kinds, which every provider's events are converted into. */
export const FEEDBACK_KINDS = [
	"send",
	"deferral",
	"hard_bounce",
	"soft_bounce",
	"reject",
	"open",
	"click",
	"spam",
	"unsub",
] as const;
export type FeedbackKind = (typeof FEEDBACK_KINDS)[number];

export const FEEDBACK_SOURCES = [
	"email",
	"mx",
	"mailgun",
	"sendgrid",
	"ses",
	"postmark",
	"resend",
	"tracking",
] as const;
export type FeedbackSource = (typeof FEEDBACK_SOURCES)[number];

/** One thing heard about one recipient. */
export type Feedback = {
	workspaceId: string;
	/** Our message id when the source names it (VERP token, provider metadata, provider message id lookup). */
	messageId: string | null;
	recipient: string;
	kind: FeedbackKind;
	/** For bounces, deferrals and rejects. */
	reason?: BounceReason | undefined;
	/** Enhanced status code (RFC 3463), e.g. `5.1.1`. */
	status?: string | undefined;
	/** The remote MTA's or provider's words, as given (never logged). */
	diagnostic?: string | undefined;
	source: FeedbackSource;
	/** The source's own id for this event, so a replayed webhook or a redelivered DSN records nothing new. */
	sourceEventId?: string | undefined;
	/** Clicked URL, for `click`. */
	url?: string | undefined;
	at: number;
};

/**
 * Which kind a bounce is, from its reason and status class (DESIGN.md: the reason decides, the
 * status class only hints): dead address → hard; a permanent refusal of the sender → reject;
 * everything else (4.x.x, mailbox_full, expired, …) → soft.
 */
export function bounceKind(
	reason: BounceReason,
	status: string | null | undefined,
): "hard_bounce" | "soft_bounce" | "reject" {
	if (HARD_REASONS.has(reason)) return "hard_bounce";
	if (status?.startsWith("5") && SENDER_REASONS.has(reason)) return "reject";
	return "soft_bounce";
}

/**
 * The event each kind becomes (src/db/schema.ts EVENT_TYPES). Event data carries
 * `{ kind, reason?, status?, diagnostic?, source, url? }`.
 */
export const FEEDBACK_EVENT = {
	send: "delivered",
	deferral: "deferred",
	hard_bounce: "bounced",
	soft_bounce: "soft_bounced",
	reject: "rejected",
	open: "opened",
	click: "clicked",
	spam: "complained",
	unsub: "unsubscribed",
} as const satisfies Record<FeedbackKind, string>;
