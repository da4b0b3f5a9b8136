// Each provider's event payloads (as their documentation shows them) → seed 001's Mandrill-style
// kinds with the bounce reason taxonomy, our message id and the provider's.
import { describe, expect, it } from "vitest";
import { derSignatureToRaw } from "../../src/domain/provider-events/der";
import { type MailgunPayload, mailgunEvents } from "../../src/domain/provider-events/mailgun";
import { postmarkEvents } from "../../src/domain/provider-events/postmark";
import { resendEvents } from "../../src/domain/provider-events/resend";
import { sendgridEvents } from "../../src/domain/provider-events/sendgrid";
import { sesEvents } from "../../src/domain/provider-events/ses";

const NOW = 1_767_225_600_000;
const OUR_ID = "01JH0000000000000000000000ABCDEFGH";

const pick = (events: { kind: string; reason?: string | undefined; status?: string | undefined }[]) =>
	events.map((e) => [e.kind, e.reason ?? null, e.status ?? null]);

describe("Mailgun event-data", () => {
	const mailgun = (data: Record<string, unknown>) =>
		mailgunEvents(
			{
				signature: { timestamp: "1", token: "t", signature: "0".repeat(64) },
				"event-data": {
					id: "Ase7i2zsRYeDXztHGENqRA",
					timestamp: 1521243339.873676,
					recipient: "Alice@Example.com",
					"user-variables": { "mq-message-id": OUR_ID },
					message: { headers: { "message-id": "20130503182626.18666.16540@example.test" } },
					...data,
				},
			} as MailgunPayload,
			NOW,
		);

	it("maps delivered, opened, clicked, complained and unsubscribed", () => {
		expect(mailgun({ event: "delivered" })[0]).toMatchObject({
			kind: "send",
			messageId: OUR_ID,
			providerMessageId: "20130503182626.18666.16540@example.test",
			recipient: "alice@example.com",
			sourceEventId: "mailgun:Ase7i2zsRYeDXztHGENqRA",
			at: 1521243339874,
		});
		expect(mailgun({ event: "opened" })[0]?.kind).toBe("open");
		expect(mailgun({ event: "clicked", url: "https://example.com/a" })[0]).toMatchObject({
			kind: "click",
			url: "https://example.com/a",
		});
		expect(mailgun({ event: "complained" })[0]?.kind).toBe("spam");
		expect(mailgun({ event: "unsubscribed" })[0]?.kind).toBe("unsub");
		expect(mailgun({ event: "accepted" })).toEqual([]);
	});

	it("maps failed by severity and the remote server's words", () => {
		const permanent = mailgun({
			event: "failed",
			severity: "permanent",
			reason: "bounce",
			"delivery-status": { code: 550, message: "5.1.1 The email account that you tried to reach does not exist." },
		});
		expect(pick(permanent)).toEqual([["hard_bounce", "user_unknown", "5.1.1"]]);
		expect(permanent[0]?.diagnostic).toMatch(/does not exist/);
		const blocked = mailgun({
			event: "failed",
			severity: "permanent",
			reason: "generic",
			"delivery-status": { code: 554, message: "5.7.1 Service unavailable; client host blocked using Spamhaus" },
		});
		expect(pick(blocked)).toEqual([["reject", "blocked", "5.7.1"]]);
		const temporary = mailgun({
			event: "failed",
			severity: "temporary",
			"delivery-status": { code: 452, message: "4.2.2 The email account that you tried to reach is over quota." },
		});
		expect(pick(temporary)).toEqual([["deferral", "mailbox_full", "4.2.2"]]);
		expect(pick(mailgun({ event: "failed", severity: "permanent", reason: "suppress-bounce" }))[0]?.[0]).toBe(
			"hard_bounce",
		);
	});
});

describe("SendGrid events", () => {
	const base = {
		email: "bob@example.org",
		timestamp: 1_700_000_000,
		sg_message_id: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
	};

	it("maps each event type, with our custom arg and the X-Message-Id part of sg_message_id", () => {
		const events = sendgridEvents(
			[
				{ ...base, event: "processed", sg_event_id: "p" },
				{ ...base, event: "delivered", sg_event_id: "d", mq_message_id: OUR_ID },
				{
					...base,
					event: "deferred",
					sg_event_id: "f",
					response: "450 4.2.1 mailbox temporarily unavailable, try again later",
				},
				{
					...base,
					event: "bounce",
					sg_event_id: "b",
					type: "bounce",
					status: "5.1.1",
					reason: "550 5.1.1 User Unknown",
				},
				{
					...base,
					event: "bounce",
					sg_event_id: "k",
					type: "blocked",
					status: "5.7.1",
					reason: "554 Message rejected",
				},
				{ ...base, event: "dropped", sg_event_id: "x", reason: "Bounced Address" },
				{ ...base, event: "open", sg_event_id: "o" },
				{ ...base, event: "click", sg_event_id: "c", url: "https://example.com/x" },
				{ ...base, event: "spamreport", sg_event_id: "s" },
				{ ...base, event: "group_unsubscribe", sg_event_id: "u" },
			],
			NOW,
		);
		expect(pick(events)).toEqual([
			["send", null, null],
			["deferral", "too_many_connections", "4.2.1"],
			["hard_bounce", "user_unknown", "5.1.1"],
			["reject", "blocked", "5.7.1"],
			["hard_bounce", "user_unknown", null],
			["open", null, null],
			["click", null, null],
			["spam", null, null],
			["unsub", null, null],
		]);
		expect(events[0]).toMatchObject({
			messageId: OUR_ID,
			providerMessageId: "14c5d75ce93",
			sourceEventId: "sendgrid:d",
		});
		expect(events[0]?.at).toBe(1_700_000_000_000);
		expect(events[6]?.url).toBe("https://example.com/x");
	});
});

describe("SES notifications and events", () => {
	const mail = {
		timestamp: "2026-01-01T00:00:00.000Z",
		messageId: "0100018c-aaaa-bbbb-cccc-000000000000-000000",
		destination: ["ann@example.org", "ben@example.org"],
		tags: { mq_message_id: [OUR_ID] },
	};
	const ses = (event: Record<string, unknown>) => sesEvents("sns-1", JSON.stringify({ mail, ...event }), NOW);

	it("maps Permanent and Transient bounces per bounced recipient", () => {
		const permanent = ses({
			notificationType: "Bounce",
			bounce: {
				bounceType: "Permanent",
				bounceSubType: "General",
				bouncedRecipients: [
					{
						emailAddress: "ann@example.org",
						action: "failed",
						status: "5.1.1",
						diagnosticCode: "smtp; 550 5.1.1 user unknown",
					},
					{ emailAddress: "ben@example.org" },
				],
				timestamp: "2026-01-01T00:01:00.000Z",
			},
		});
		expect(pick(permanent)).toEqual([
			["hard_bounce", "user_unknown", "5.1.1"],
			["hard_bounce", "user_unknown", null],
		]);
		expect(permanent[0]).toMatchObject({
			messageId: OUR_ID,
			providerMessageId: mail.messageId,
			sourceEventId: "ses:sns-1:0",
			at: Date.parse("2026-01-01T00:01:00.000Z"),
		});
		const transient = ses({
			eventType: "Bounce",
			bounce: {
				bounceType: "Transient",
				bounceSubType: "MailboxFull",
				bouncedRecipients: [{ emailAddress: "ann@example.org" }],
			},
		});
		expect(pick(transient)).toEqual([["soft_bounce", "mailbox_full", null]]);
	});

	it("maps Complaint, Delivery, Reject, Open, Click and DeliveryDelay", () => {
		expect(
			pick(
				ses({
					notificationType: "Complaint",
					complaint: { complainedRecipients: [{ emailAddress: "ann@example.org" }] },
				}),
			),
		).toEqual([["spam", null, null]]);
		expect(
			ses({ notificationType: "Delivery", delivery: { recipients: ["ben@example.org"] } }).map((e) => [
				e.kind,
				e.recipient,
			]),
		).toEqual([["send", "ben@example.org"]]);
		expect(pick(ses({ eventType: "Reject", reject: { reason: "Bad content" } }))).toEqual([
			["reject", "filtered", null],
			["reject", "filtered", null],
		]);
		expect(ses({ eventType: "Open", open: {} }).map((e) => e.kind)).toEqual(["open", "open"]);
		expect(ses({ eventType: "Click", click: { link: "https://example.com/c" } })[0]).toMatchObject({
			kind: "click",
			url: "https://example.com/c",
		});
		const delayed = ses({
			eventType: "DeliveryDelay",
			deliveryDelay: {
				delayType: "TransientCommunicationFailure",
				delayedRecipients: [
					{ emailAddress: "ann@example.org", status: "4.4.1", diagnosticCode: "smtp; 421 4.4.1 timeout" },
				],
			},
		});
		expect(pick(delayed)).toEqual([["deferral", "network", "4.4.1"]]);
		expect(ses({ eventType: "Send", send: {} })).toEqual([]);
	});
});

describe("Postmark records", () => {
	const record = (fields: Record<string, unknown>) =>
		postmarkEvents(
			{ MessageID: "883953f4-6105-42a2-a16a-77a8eac79483", Metadata: { mq_message_id: OUR_ID }, ...fields },
			NOW,
		);

	it("maps Delivery, Bounce types, SpamComplaint, Open, Click and SubscriptionChange", () => {
		const hard = record({
			RecordType: "Bounce",
			ID: 42,
			Type: "HardBounce",
			Email: "john@example.com",
			Details: "smtp;550 5.1.1 The email account that you tried to reach does not exist",
		});
		expect(pick(hard)).toEqual([["hard_bounce", "user_unknown", "5.1.1"]]);
		expect(hard[0]).toMatchObject({ messageId: OUR_ID, sourceEventId: "postmark:42:john@example.com" });
		expect(
			pick(
				record({
					RecordType: "Bounce",
					ID: 43,
					Type: "SoftBounce",
					Email: "j@example.com",
					Details: "452 4.2.2 mailbox full",
				}),
			),
		).toEqual([["soft_bounce", "mailbox_full", "4.2.2"]]);
		expect(
			pick(record({ RecordType: "Bounce", ID: 44, Type: "SpamNotification", Email: "j@example.com" }))[0]?.slice(0, 2),
		).toEqual(["reject", "spam"]);
		expect(record({ RecordType: "Bounce", ID: 45, Type: "AutoResponder", Email: "j@example.com" })).toEqual([]);
		expect(
			record({ RecordType: "SpamComplaint", ID: 46, Type: "SpamComplaint", Email: "j@example.com" })[0]?.kind,
		).toBe("spam");
		expect(
			record({ RecordType: "Delivery", Recipient: "j@example.com", DeliveredAt: "2026-01-01T00:00:00Z" })[0],
		).toMatchObject({
			kind: "send",
			at: Date.parse("2026-01-01T00:00:00Z"),
		});
		expect(
			record({ RecordType: "Open", Recipient: "j@example.com", ReceivedAt: "2026-01-01T00:00:00Z" })[0]?.kind,
		).toBe("open");
		expect(
			record({ RecordType: "Click", Recipient: "j@example.com", OriginalLink: "https://example.com/p" })[0]?.url,
		).toBe("https://example.com/p");
		expect(
			record({
				RecordType: "SubscriptionChange",
				Recipient: "j@example.com",
				SuppressSending: true,
				SuppressionReason: "ManualSuppression",
			})[0]?.kind,
		).toBe("unsub");
		expect(
			record({
				RecordType: "SubscriptionChange",
				Recipient: "j@example.com",
				SuppressSending: true,
				SuppressionReason: "HardBounce",
			}),
		).toEqual([]);
	});
});

describe("Resend events", () => {
	const resend = (type: string, data: Record<string, unknown> = {}) =>
		resendEvents(
			{
				id: "msg_2",
				payload: {
					type,
					created_at: "2026-01-01T00:00:00.000Z",
					data: {
						email_id: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
						to: ["Ann <Ann@example.org>"],
						tags: [{ name: "mq_message_id", value: OUR_ID }],
						...data,
					},
				},
			},
			NOW,
		);

	it("maps delivered, bounced, complained, delivery_delayed, opened and clicked", () => {
		expect(resend("email.delivered")[0]).toMatchObject({
			kind: "send",
			messageId: OUR_ID,
			providerMessageId: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
			recipient: "ann@example.org",
			sourceEventId: "resend:msg_2:ann@example.org",
		});
		expect(
			pick(
				resend("email.bounced", {
					bounce: { type: "Permanent", subType: "General", message: "The recipient's email address does not exist." },
				}),
			),
		).toEqual([["hard_bounce", "user_unknown", null]]);
		expect(
			pick(
				resend("email.bounced", {
					bounce: { type: "Transient", subType: "MailboxFull", diagnosticCode: ["smtp; 452 4.2.2 Mailbox full"] },
				}),
			),
		).toEqual([["soft_bounce", "mailbox_full", "4.2.2"]]);
		expect(resend("email.complained")[0]?.kind).toBe("spam");
		expect(resend("email.delivery_delayed")[0]?.kind).toBe("deferral");
		expect(resend("email.opened")[0]?.kind).toBe("open");
		expect(resend("email.clicked", { click: { link: "https://example.com/r" } })[0]?.url).toBe("https://example.com/r");
		expect(resend("email.sent")).toEqual([]);
		expect(resend("email.delivered", { tags: { mq_message_id: OUR_ID } })[0]?.messageId).toBe(OUR_ID);
	});
});

describe("DER ECDSA signatures", () => {
	it("pads short integers and drops the sign byte", () => {
		const der = new Uint8Array([0x30, 0x07, 0x02, 0x02, 0x00, 0x81, 0x02, 0x01, 0x05]);
		const raw = derSignatureToRaw(der, 4);
		expect(raw && [...raw]).toEqual([0, 0, 0, 0x81, 0, 0, 0, 5]);
		expect(derSignatureToRaw(new Uint8Array([0x30, 0x03, 0x02, 0x01]), 4)).toBeNull();
	});
});
