// What a classified report becomes: only recipients of the message count, a per-recipient token's
// recipient wins, kinds follow the reason taxonomy, and the source id is stable per stored message.
import { describe, expect, it } from "vitest";
import type { Classification } from "../../src/domain/inbound/model";
import { feedbackFromReport, type ReportContext } from "../../src/domain/inbound/to-feedback";

const ctx: ReportContext = {
	workspaceId: "ws_1",
	messageId: "M1",
	messageRecipients: ["Ann@x.test", "bob@x.test"],
	tokenRecipient: null,
	source: "email",
	inboundId: "inb_1",
	at: 1,
};

const bounce = (recipients: Classification["recipients"]): Classification => ({ kind: "bounce", recipients });
const r = (
	recipient: string,
	action: string,
	status: string | null,
	reason: Classification["recipients"][number]["reason"],
) => ({
	recipient,
	action,
	status,
	reason,
	hard: reason === "user_unknown",
	diagnostic: "smtp; 550",
});

describe("feedbackFromReport", () => {
	it("maps failed and delayed recipients of the message, and ignores strangers", () => {
		const items = feedbackFromReport(
			bounce([
				r("ann@x.test", "failed", "5.1.1", "user_unknown"),
				r("bob@x.test", "delayed", "4.2.2", "mailbox_full"),
				r("eve@x.test", "failed", "5.1.1", "user_unknown"),
			]),
			ctx,
		);
		expect(items.map((i) => [i.recipient, i.kind, i.reason, i.status])).toEqual([
			["Ann@x.test", "hard_bounce", "user_unknown", "5.1.1"],
			["bob@x.test", "deferral", "mailbox_full", "4.2.2"],
		]);
		expect(items[0]?.sourceEventId).toBe("inbound:inb_1:ann@x.test");
	});

	it("records a sender refusal as a reject and mailbox_full as a soft bounce", () => {
		const items = feedbackFromReport(
			bounce([r("ann@x.test", "failed", "5.7.1", "blocked"), r("bob@x.test", "failed", "5.2.2", "mailbox_full")]),
			ctx,
		);
		expect(items.map((i) => i.kind)).toEqual(["reject", "soft_bounce"]);
	});

	it("uses the token's recipient whatever address the report names, once", () => {
		const items = feedbackFromReport(
			bounce([
				r("forwarded@elsewhere.test", "failed", "5.1.1", "user_unknown"),
				r("x@y.test", "failed", "5.1.1", "user_unknown"),
			]),
			{ ...ctx, tokenRecipient: "bob@x.test" },
		);
		expect(items.map((i) => i.recipient)).toEqual(["bob@x.test"]);
	});

	it("turns a complaint into spam, and an auto-reply into nothing", () => {
		const complaint: Classification = { kind: "complaint", recipients: [r("bob@x.test", "complained", null, "spam")] };
		expect(feedbackFromReport(complaint, ctx).map((i) => [i.recipient, i.kind, i.reason])).toEqual([
			["bob@x.test", "spam", undefined],
		]);
		const anonymous: Classification = { kind: "complaint", recipients: [] };
		expect(feedbackFromReport(anonymous, { ...ctx, tokenRecipient: "Ann@x.test" }).map((i) => i.kind)).toEqual([
			"spam",
		]);
		expect(feedbackFromReport({ kind: "auto_reply", recipients: [] }, ctx)).toEqual([]);
	});
});
