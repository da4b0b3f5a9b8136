// Forms the corpus holds few of, checked field by field: SES notifications by e-mail naming our
// X-Mail-Queue-ID, Microsoft JMRP complaints, and input that is no message at all.
import { describe, expect, it } from "vitest";
import { classify } from "../../src/domain/inbound/classify";

function sesMail(notification: unknown): string {
	return [
		"From: AWS Notifications <no-reply@sns.amazonaws.com>",
		"To: ops@example.test",
		"Subject: AWS Notification Message",
		"Content-Type: text/plain; charset=UTF-8",
		"",
		JSON.stringify(notification),
		"",
		"--",
		"If you wish to stop receiving notifications from this topic, please click or visit the link below to unsubscribe:",
		"",
	].join("\r\n");
}

const mail = {
	commonHeaders: { messageId: "<m1@example.test>" },
	headers: [{ name: "X-Mail-Queue-ID", value: "msg_01JZSES" }],
};

describe("classifier forms", () => {
	it("reads an SES bounce notification and names our message", async () => {
		const got = await classify(
			sesMail({
				notificationType: "Bounce",
				bounce: {
					bounceType: "Permanent",
					bounceSubType: "General",
					bouncedRecipients: [
						{
							emailAddress: "Gone@Example.org",
							action: "failed",
							status: "5.1.1",
							diagnosticCode: "smtp; 550 5.1.1 user unknown",
						},
					],
				},
				mail,
			}),
		);
		expect(got).toEqual({
			kind: "bounce",
			recipients: [
				{
					recipient: "gone@example.org",
					action: "failed",
					status: "5.1.1",
					reason: "user_unknown",
					hard: true,
					diagnostic: "550 5.1.1 user unknown",
				},
			],
			originalMessageId: "<m1@example.test>",
			originalQueueId: "msg_01JZSES",
		});
	});

	it("reads an SES complaint and a bounce without a diagnostic by its subtype", async () => {
		const complaint = await classify(
			sesMail({
				notificationType: "Complaint",
				complaint: { complainedRecipients: [{ emailAddress: "r@example.org" }], complaintFeedbackType: "abuse" },
				mail,
			}),
		);
		expect(complaint).toMatchObject({
			kind: "complaint",
			feedbackType: "abuse",
			recipients: [{ recipient: "r@example.org" }],
		});
		const noEmail = await classify(
			sesMail({
				notificationType: "Bounce",
				bounce: {
					bounceType: "Permanent",
					bounceSubType: "NoEmail",
					bouncedRecipients: [{ emailAddress: "x@example.org" }],
				},
				mail,
			}),
		);
		expect(noEmail.recipients[0]).toMatchObject({ action: "failed", status: null, reason: "user_unknown", hard: true });
	});

	it("reads a JMRP report as a complaint for X-HmXmrOriginalRecipient", async () => {
		const got = await classify(
			[
				"From: staff@hotmail.com",
				"Subject: complaint about message from 192.0.2.1",
				'Content-Type: multipart/mixed; boundary="b"',
				"",
				"--b",
				"Content-Type: message/rfc822",
				"Content-Disposition: inline",
				"",
				"X-HmXmrOriginalRecipient: r@example.com",
				"X-Mail-Queue-ID: msg_01JZJMRP",
				"From: app@example.test",
				"To: r@example.com",
				"Subject: hi",
				"",
				"hello",
				"--b--",
				"",
			].join("\r\n"),
		);
		expect(got).toMatchObject({
			kind: "complaint",
			feedbackType: "abuse",
			originalQueueId: "msg_01JZJMRP",
			recipients: [{ recipient: "r@example.com", action: "complained", hard: false }],
		});
	});

	it("answers other, without throwing, for input that is no message", async () => {
		for (const raw of [
			"",
			"garbage",
			new Uint8Array([0, 255, 1, 254]),
			"Subject: hi\r\n\r\n{not json notificationType",
		]) {
			expect(await classify(raw)).toMatchObject({ kind: "other", recipients: [] });
		}
	});

	it("says the same for the same bytes as string, Uint8Array and ArrayBuffer", async () => {
		const raw = sesMail({ notificationType: "Delivery", mail });
		const bytes = new TextEncoder().encode(raw);
		const answers = await Promise.all([classify(raw), classify(bytes), classify(bytes.slice().buffer as ArrayBuffer)]);
		expect(answers[1]).toEqual(answers[0]);
		expect(answers[2]).toEqual(answers[0]);
		expect(answers[0]).toMatchObject({ kind: "other", originalQueueId: "msg_01JZSES" });
	});

	it("bounds its work and its answer on a huge message (at most 1,000 recipients)", async () => {
		const lines = Array.from(
			{ length: 60_000 },
			(_, i) => `<user${i}@example.org>:\nRemote host said: 550 5.1.1 unknown`,
		);
		const vendor = ["From: MAILER-DAEMON@mx.example.net", "Subject: failure notice", "", ...lines, ""].join("\n");
		const blocks = Array.from(
			{ length: 60_000 },
			(_, i) => `Final-Recipient: rfc822; user${i}@example.org\nAction: failed\nStatus: 5.1.1\n`,
		);
		const dsn = [
			"From: MAILER-DAEMON@mx.example.net",
			"Subject: Undelivered Mail Returned to Sender",
			'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
			"",
			"--b",
			"Content-Type: text/plain",
			"",
			"Delivery failed.",
			"--b",
			"Content-Type: message/delivery-status",
			"",
			"Reporting-MTA: dns; mx.example.net",
			"",
			blocks.join("\n"),
			"--b--",
			"",
		].join("\n");
		for (const raw of [vendor, dsn]) {
			expect(raw.length).toBeGreaterThan(2_000_000);
			const started = Date.now();
			const got = await classify(raw);
			// Unbounded, this took over 100 s in workerd; only the head of the message is parsed.
			expect(Date.now() - started).toBeLessThan(10_000);
			expect(got.kind).toBe("bounce");
			expect(got.recipients).toHaveLength(1000);
			expect(got.recipients[0]).toMatchObject({ recipient: "user0@example.org", reason: "user_unknown" });
		}
	});
});
