// Inbound mail for tests: a ForwardableEmailMessage as Email Routing hands one to email(), run
// through the Worker's own handler, and real report formats (RFC 3464 DSN, RFC 5965 ARF).
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import type { Env } from "../../src/env";
import worker from "../../workers/index";
import { testEnv } from "./worker";

export type Delivered = { rejected: string | null; threw: unknown };

/** Runs the Worker's email() on one message from `from` to `to`, as Email Routing would. */
export async function deliverEmail(from: string, to: string, raw: string, env: Partial<Env> = {}): Promise<Delivered> {
	const bytes = new TextEncoder().encode(raw);
	let rejected: string | null = null;
	const message: ForwardableEmailMessage = {
		from,
		to,
		headers: new Headers(),
		raw: new Response(bytes).body ?? new ReadableStream(),
		rawSize: bytes.byteLength,
		setReject: (reason: string) => {
			rejected = reason;
		},
		forward: async () => ({ messageId: "" }),
		reply: async () => ({ messageId: "" }),
	};
	const ctx = createExecutionContext();
	let threw: unknown = null;
	try {
		await worker.email(message, testEnv(env), ctx);
	} catch (error) {
		threw = error;
	}
	await waitOnExecutionContext(ctx);
	return { rejected, threw };
}

const crlf = (lines: string[]) => `${lines.join("\r\n")}\r\n`;

/** A Postfix-style RFC 3464 DSN for `recipient`, to `returnPath`, quoting the original's headers. */
export function dsn(
	returnPath: string,
	recipient: string,
	original: { messageId: string; queueId: string },
	status = "5.1.1",
	diagnostic = `smtp; 550 5.1.1 <${recipient}>: Recipient address rejected: User unknown in virtual mailbox table`,
): string {
	return crlf([
		"From: MAILER-DAEMON@mx.remote.test (Mail Delivery System)",
		`To: ${returnPath}`,
		"Subject: Undelivered Mail Returned to Sender",
		"Date: Tue, 01 Dec 2026 10:00:00 +0000",
		"Message-ID: <20261201100000.ABC123@mx.remote.test>",
		"Auto-Submitted: auto-replied",
		"MIME-Version: 1.0",
		'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-boundary"',
		"",
		"--dsn-boundary",
		"Content-Type: text/plain; charset=us-ascii",
		"",
		"I'm sorry to have to inform you that your message could not be delivered.",
		"",
		"--dsn-boundary",
		"Content-Type: message/delivery-status",
		"",
		"Reporting-MTA: dns; mx.remote.test",
		"Arrival-Date: Tue, 01 Dec 2026 09:59:59 +0000",
		"",
		`Final-Recipient: rfc822; ${recipient}`,
		`Original-Recipient: rfc822;${recipient}`,
		"Action: failed",
		`Status: ${status}`,
		"Remote-MTA: dns; mx.remote.test",
		`Diagnostic-Code: ${diagnostic}`,
		"",
		"--dsn-boundary",
		"Content-Type: text/rfc822-headers",
		"",
		`Message-ID: ${original.messageId}`,
		`X-Mail-Queue-ID: ${original.queueId}`,
		"Subject: Hello",
		"",
		"--dsn-boundary--",
	]);
}

/** A plain message with one attachment, as a person would send to an inbound route. */
export function personalMail(to: string, attachment = "hello attachment"): string {
	return crlf([
		"From: Ada Lovelace <ada@sender.test>",
		`To: ${to}`,
		"Subject: Question about my order",
		"Date: Tue, 01 Dec 2026 10:00:00 +0000",
		"Message-ID: <q1@sender.test>",
		"MIME-Version: 1.0",
		'Content-Type: multipart/mixed; boundary="mix"',
		"",
		"--mix",
		"Content-Type: text/plain; charset=utf-8",
		"",
		"Where is my order?",
		"--mix",
		"Content-Type: text/plain; name=notes.txt",
		'Content-Disposition: attachment; filename="notes.txt"',
		"Content-Transfer-Encoding: base64",
		"",
		btoa(attachment),
		"--mix--",
	]);
}

/** An out-of-office reply (RFC 3834) to `to`. */
export function outOfOffice(to: string): string {
	return crlf([
		"From: Ann <ann@x.test>",
		`To: ${to}`,
		"Subject: Out of office: Hello",
		"Auto-Submitted: auto-replied",
		"X-Autoreply: yes",
		"Date: Tue, 01 Dec 2026 10:00:00 +0000",
		"Message-ID: <ooo1@x.test>",
		"Content-Type: text/plain; charset=utf-8",
		"",
		"I am away until Monday and will read your message when I am back.",
	]);
}

/** An RFC 5965 abuse report about our message `queueId` sent to `recipient`. */
export function arfReport(to: string, recipient: string, original: { messageId: string; queueId: string }): string {
	return crlf([
		"From: feedbackloop@isp.test",
		`To: ${to}`,
		"Subject: Abuse report",
		"Date: Tue, 01 Dec 2026 10:00:00 +0000",
		"Message-ID: <arf1@isp.test>",
		"MIME-Version: 1.0",
		'Content-Type: multipart/report; report-type=feedback-report; boundary="arf"',
		"",
		"--arf",
		"Content-Type: text/plain; charset=us-ascii",
		"",
		"This is an email abuse report for an email message received from your network.",
		"",
		"--arf",
		"Content-Type: message/feedback-report",
		"",
		"Feedback-Type: abuse",
		"User-Agent: ISP-FBL/1.0",
		"Version: 1",
		`Original-Rcpt-To: <${recipient}>`,
		"Arrival-Date: Tue, 01 Dec 2026 09:00:00 +0000",
		"",
		"--arf",
		"Content-Type: text/rfc822-headers",
		"",
		"From: App <app@sender.test>",
		`To: ${recipient}`,
		"Subject: Hello",
		`Message-ID: ${original.messageId}`,
		`X-Mail-Queue-ID: ${original.queueId}`,
		"",
		"--arf--",
	]);
}
