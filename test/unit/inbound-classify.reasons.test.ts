// The reason mapping (status code + diagnostic → BOUNCE_REASONS) and what each reason makes of the
// recipient: hard only for dead addresses, reject for a 5.x.x refusal of the sender, soft otherwise.
import { describe, expect, it } from "vitest";
import { bounceKind } from "../../src/domain/feedback/model";
import { classify } from "../../src/domain/inbound/classify";
import { classifyReason, normalizeStatus } from "../../src/domain/inbound/reason";

function dsn(action: string, status: string, diagnostic: string): string {
	return [
		"From: MAILER-DAEMON@mx.example.net",
		"Subject: Delivery Status Notification",
		"MIME-Version: 1.0",
		'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
		"",
		"--b",
		"Content-Type: text/plain",
		"",
		"Delivery report.",
		"--b",
		"Content-Type: message/delivery-status",
		"",
		"Reporting-MTA: dns; mx.example.net",
		"",
		"Final-Recipient: rfc822; r@example.org",
		`Action: ${action}`,
		`Status: ${status}`,
		`Diagnostic-Code: smtp; ${diagnostic}`,
		"--b--",
		"",
	].join("\r\n");
}

const cases: [string, string, string, string, "hard_bounce" | "soft_bounce" | "reject"][] = [
	[
		"failed",
		"5.1.1",
		"550 5.1.1 <r@example.org>: Recipient address rejected: User unknown",
		"user_unknown",
		"hard_bounce",
	],
	[
		"failed",
		"5.1.2",
		"550 5.1.2 Host unknown (Name server: example.org: host not found)",
		"host_unknown",
		"hard_bounce",
	],
	["failed", "5.1.6", "550 5.1.6 recipient no longer on server", "has_moved", "hard_bounce"],
	["failed", "5.0.0", "550 Unknown user r@example.org", "user_unknown", "hard_bounce"],
	[
		"failed",
		"5.7.1",
		"554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
		"blocked",
		"reject",
	],
	["failed", "5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering", "spam", "reject"],
	[
		"failed",
		"5.7.26",
		"550 5.7.26 Unauthenticated email from example.test is not accepted due to domain's DMARC policy",
		"auth_failure",
		"reject",
	],
	["failed", "5.7.1", "550 5.7.1 Delivery not authorized, message refused", "policy", "reject"],
	[
		"failed",
		"5.2.2",
		"552 5.2.2 The email account that you tried to reach is over quota",
		"mailbox_full",
		"soft_bounce",
	],
	["delayed", "4.2.2", "452 4.2.2 Mailbox full", "mailbox_full", "soft_bounce"],
	["delayed", "4.4.7", "Message expired: unable to deliver in 840 minutes", "expired", "soft_bounce"],
	[
		"delayed",
		"4.7.0",
		"421 4.7.0 Try again later, closing connection (throttled)",
		"too_many_connections",
		"soft_bounce",
	],
	["delayed", "4.4.1", "connect to mx.example.org[192.0.2.2]:25: Connection timed out", "network", "soft_bounce"],
	["failed", "5.3.0", "554 5.3.0 Internal server error", "system", "soft_bounce"],
	["failed", "5.0.0", "550 Something nobody has a word for", "other", "soft_bounce"],
];

describe("reason mapping", () => {
	for (const [action, status, diagnostic, reason, kind] of cases) {
		it(`${status} "${diagnostic.slice(0, 40)}…" → ${reason} (${kind})`, async () => {
			expect(classifyReason(status, diagnostic)).toBe(reason);
			const got = await classify(dsn(action, status, diagnostic));
			expect(got.kind).toBe("bounce");
			expect(got.recipients).toEqual([
				{ recipient: "r@example.org", action, status, reason, hard: kind === "hard_bounce", diagnostic },
			]);
			expect(bounceKind(got.recipients[0]?.reason ?? "other", status)).toBe(kind);
		});
	}

	it("a status that names the cause beats the words, generic ones do not", () => {
		expect(classifyReason("5.1.1", "550 5.1.1 mailbox unavailable, blocked")).toBe("user_unknown");
		expect(classifyReason("5.0.0", "554 blocked using bl.spamcop.net")).toBe("blocked");
		expect(classifyReason("5.7.1", null)).toBe("policy");
		expect(classifyReason(null, null)).toBe("other");
	});

	it("a delayed recipient is never hard, even when the reason says the address is dead", async () => {
		const got = await classify(
			dsn("delayed", "4.1.1", "450 4.1.1 <r@example.org>: Recipient address rejected: User unknown"),
		);
		expect(got.recipients[0]).toMatchObject({ reason: "user_unknown", hard: false });
		const failed = await classify(
			dsn("failed", "4.1.1", "450 4.1.1 <r@example.org>: Recipient address rejected: User unknown"),
		);
		expect(failed.recipients[0]).toMatchObject({ reason: "user_unknown", hard: true });
	});

	it("takes the remote's specific code over a bare 5.0.0 and only enhanced codes as status", async () => {
		const got = await classify(dsn("failed", "5.0.0", "550 5.1.1 <r@example.org>... User Unknown"));
		expect(got.recipients[0]?.status).toBe("5.1.1");
		expect(normalizeStatus("5.1.1 (bad destination mailbox address)")).toBe("5.1.1");
		expect(normalizeStatus("550")).toBeNull();
	});

	it("a success DSN is not a bounce", async () => {
		const got = await classify(dsn("delivered", "2.0.0", "250 2.0.0 OK"));
		expect(got).toMatchObject({ kind: "other", recipients: [] });
	});
});
