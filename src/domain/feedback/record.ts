// recordFeedback: the one place feedback (bounces, complaints, provider events, tracking) becomes
// recipient and message statuses, recipients-table state, suppressions and events (docs/suppressions.md).
// One D1 batch per call; the events it wrote are published after the commit.

import type { EventRow } from "../../db/repositories/events";
import { type FeedbackRow, writeFeedback } from "../../db/repositories/feedback";
import { sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { count } from "../../lib/metrics";
import { type EventQueues, publishEvents } from "../events/emitter";
import { FEEDBACK_EVENT, type Feedback, type FeedbackKind } from "./model";

export type FeedbackOutcome = {
	/** False for a replay (same source event) or a message that is not the workspace's. */
	recorded: boolean;
	/** This item put the address on (or kept it on) the workspace's suppression list. */
	suppressed: boolean;
};

export type FeedbackDeps = { db: D1Database; queues: EventQueues };

/** What each kind does beyond its event (the recipient's guarded status, recipients table, suppression). */
const EFFECTS: Record<
	FeedbackKind,
	Pick<FeedbackRow, "target" | "recipient_status" | "suppress" | "bounce" | "soft">
> = {
	send: { target: "delivered", recipient_status: null, suppress: null, bounce: 0, soft: 0 },
	deferral: { target: null, recipient_status: null, suppress: null, bounce: 0, soft: 0 },
	hard_bounce: { target: "bounced", recipient_status: "bounced", suppress: "hard_bounce", bounce: 1, soft: 0 },
	soft_bounce: { target: null, recipient_status: null, suppress: null, bounce: 1, soft: 1 },
	reject: { target: "rejected", recipient_status: null, suppress: null, bounce: 0, soft: 0 },
	// An open, a click or an unsubscribe proves the message arrived.
	open: { target: "delivered", recipient_status: null, suppress: null, bounce: 0, soft: 0 },
	click: { target: "delivered", recipient_status: null, suppress: null, bounce: 0, soft: 0 },
	spam: { target: "complained", recipient_status: "complained", suppress: "complaint", bounce: 0, soft: 0 },
	unsub: { target: "delivered", recipient_status: "unsubscribed", suppress: "unsubscribe", bounce: 0, soft: 0 },
};

/**
 * The event id of an item: derived from the source's own event id when there is one (a replayed
 * webhook or a redelivered DSN maps to the same row), else from what the item says and when.
 */
export async function feedbackEventId(item: Feedback): Promise<string> {
	const recipient = item.recipient.toLowerCase();
	const parts = item.sourceEventId
		? [item.workspaceId, item.source, item.sourceEventId, recipient, item.kind]
		: [item.workspaceId, item.source, item.messageId ?? "", recipient, item.kind, String(item.at), item.url ?? ""];
	return `fb_${(await sha256Hex(parts.join("\n"))).slice(0, 32)}`;
}

function eventData(item: Feedback): Record<string, unknown> {
	const data: Record<string, unknown> = { kind: item.kind, source: item.source };
	if (item.reason) data.reason = item.reason;
	if (item.status) data.status = item.status;
	if (item.diagnostic) data.diagnostic = item.diagnostic;
	if (item.url) data.url = item.url;
	return data;
}

function lastError(item: Feedback): string | null {
	if (item.kind !== "hard_bounce" && item.kind !== "soft_bounce" && item.kind !== "reject") return null;
	return `${item.kind}: ${[item.status, item.reason, item.diagnostic].filter(Boolean).join(" ")}`.slice(0, 1000);
}

async function toRow(item: Feedback): Promise<FeedbackRow> {
	return {
		event_id: await feedbackEventId(item),
		workspace_id: item.workspaceId,
		message_id: item.messageId,
		recipient: item.recipient.trim().toLowerCase(),
		event_type: FEEDBACK_EVENT[item.kind],
		data: JSON.stringify(eventData(item)),
		at: item.at,
		error: lastError(item),
		...EFFECTS[item.kind],
		recipient_row_id: newId("rcp"),
		suppression_id: newId("sup"),
	};
}

export async function recordFeedback(deps: FeedbackDeps, items: readonly Feedback[]): Promise<FeedbackOutcome[]> {
	if (items.length === 0) return [];
	const rows = await Promise.all(items.map(toRow));
	// Two copies of one source event in a call are one item.
	const unique = [...new Map(rows.map((r) => [r.event_id, r])).values()];
	const written = await writeFeedback(deps.db, unique, Date.now());
	const recorded = new Set(written.events.map((e: EventRow) => e.id));
	await publishEvents(written.events, deps.queues);
	count("feedback_recorded_total", recorded.size);
	const claimed = new Set<string>();
	return rows.map((row) => {
		// Only the first copy of a duplicated event counts as recorded.
		const isNew = recorded.has(row.event_id) && !claimed.has(row.event_id);
		if (isNew) claimed.add(row.event_id);
		const suppresses = row.suppress !== null || row.soft === 1;
		return {
			recorded: isNew,
			suppressed: isNew && suppresses && written.suppressed.has(`${row.workspace_id}\n${row.recipient}`),
		};
	});
}
