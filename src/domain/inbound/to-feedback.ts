// What a classified report says, as Feedback about recipients of our message (docs/inbound.md): a
// DSN's failed recipients become hard/soft bounces or rejects, delays deferrals, an ARF report a
// complaint. Only recipients of that message count: a report naming anyone else changes nothing.
import { bounceKind, type Feedback, type FeedbackSource } from "../feedback/model";
import type { Classification, ClassifiedRecipient } from "./model";

export type ReportContext = {
	workspaceId: string;
	messageId: string;
	/** Every envelope recipient of the message. */
	messageRecipients: readonly string[];
	/** The recipient a per-recipient VERP token names; it wins over what the report says. */
	tokenRecipient: string | null;
	source: FeedbackSource;
	/** Stable per received message (derived from its bytes), so a redelivered report records nothing new. */
	inboundId: string;
	at: number;
};

function kindOf(c: Classification, r: ClassifiedRecipient): Feedback["kind"] | null {
	if (c.kind === "complaint") return "spam";
	if (c.kind !== "bounce") return null;
	const action = r.action.toLowerCase();
	if (action === "failed") return bounceKind(r.reason, r.status);
	if (action === "delayed") return "deferral";
	return null;
}

export function feedbackFromReport(c: Classification, ctx: ReportContext): Feedback[] {
	const known = new Map(ctx.messageRecipients.map((e) => [e.toLowerCase(), e]));
	const seen = new Set<string>();
	const out: Feedback[] = [];
	// An ARF report may name no recipient; a per-recipient token still says who complained.
	const listed: ClassifiedRecipient[] =
		c.recipients.length === 0 && c.kind === "complaint" && ctx.tokenRecipient
			? [
					{
						recipient: ctx.tokenRecipient,
						action: "failed",
						status: null,
						reason: "spam",
						hard: false,
						diagnostic: null,
					},
				]
			: c.recipients;
	for (const r of listed) {
		const kind = kindOf(c, r);
		if (!kind) continue;
		const recipient = ctx.tokenRecipient ?? known.get(r.recipient.toLowerCase());
		if (!recipient || seen.has(recipient.toLowerCase())) continue;
		seen.add(recipient.toLowerCase());
		out.push({
			workspaceId: ctx.workspaceId,
			messageId: ctx.messageId,
			recipient,
			kind,
			reason: kind === "spam" ? undefined : r.reason,
			status: r.status ?? undefined,
			diagnostic: r.diagnostic ?? undefined,
			source: ctx.source,
			sourceEventId: `inbound:${ctx.inboundId}:${recipient.toLowerCase()}`,
			at: ctx.at,
		});
	}
	return out;
}
