// An RFC 3464 delivery status notification for one recipient of one of our messages, as a remote
// MTA would send it to the message's VERP Return-Path (node tests of the Email Worker and MX mode).
export function dsn(to: string, recipient: string, id: string): string {
	return [
		"From: MAILER-DAEMON@mx.remote.test",
		`To: ${to}`,
		"Subject: Undelivered Mail Returned to Sender",
		"Date: Tue, 01 Dec 2026 10:00:00 +0000",
		// wrangler dev's local email endpoint refuses a message without one.
		`Message-ID: <dsn-${Math.random().toString(36).slice(2)}@mx.remote.test>`,
		"MIME-Version: 1.0",
		'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
		"",
		"--b",
		"Content-Type: text/plain",
		"",
		"Your message could not be delivered.",
		"--b",
		"Content-Type: message/delivery-status",
		"",
		"Reporting-MTA: dns; mx.remote.test",
		"",
		`Final-Recipient: rfc822; ${recipient}`,
		"Action: failed",
		"Status: 5.1.1",
		`Diagnostic-Code: smtp; 550 5.1.1 <${recipient}>: user unknown`,
		"",
		"--b",
		"Content-Type: text/rfc822-headers",
		"",
		`X-Mail-Queue-ID: ${id}`,
		"",
		"--b--",
		"",
	].join("\r\n");
}
