// Files in mail submitted over SMTP: postal-mime's parts become the /v1 attachments (what API
// gateways send), and the delivered MIME is the client's own, its parts exactly as sent.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SendJob } from "../../src/domain/messages/model";
import { json, RecordingQueue, request, runQueue } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const b64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
const PDF = btoa(`%PDF-1.4\n${"x".repeat(120)}`);
const PNG = btoa("\x89PNG\r\n\x1a\nlogo");
// base64, as mail clients send calendars: a 7bit, 8bit or quoted-printable part reaches the relay with LF line ends,
// since postal-mime rebuilds such text line by line (smtp-bridge/README.md).
const ICS = btoa("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n");
const lines = (base64: string) => (base64.match(/.{1,76}/g) ?? []).join("\r\n");

/** A message as Thunderbird writes one: mixed → related (html + cid image) → a PDF, then `extra` parts. */
function invoice(domain: string, extra: string[] = []): string {
	return [
		`From: Shop <shop@${domain}>`,
		"To: ada@x.test",
		"Subject: Invoice",
		"MIME-Version: 1.0",
		'Content-Type: multipart/mixed; boundary="mixed"',
		"",
		"--mixed",
		'Content-Type: multipart/related; boundary="rel"',
		"",
		"--rel",
		"Content-Type: text/html; charset=utf-8",
		"",
		'<p>Your invoice <img src="cid:logo.1@shop.test"></p>',
		"--rel",
		"Content-Type: image/png",
		'Content-Disposition: inline; filename="logo.png"',
		"Content-ID: <logo.1@shop.test>",
		"Content-Transfer-Encoding: base64",
		"",
		PNG,
		"--rel--",
		"--mixed",
		'Content-Type: application/pdf; name="invoice.pdf"',
		'Content-Disposition: attachment; filename="invoice.pdf"',
		"Content-Transfer-Encoding: base64",
		"",
		lines(PDF),
		...extra,
		"--mixed--",
		"",
	].join("\r\n");
}

async function submit(key: string, raw: string) {
	const queue = new RecordingQueue();
	const res = await request("/v1/smtp/messages", {
		key,
		body: { mail_from: "bounce@client.test", rcpt_to: ["ada@x.test"], raw: b64(raw) },
		env: { SEND_QUEUE: queue },
	});
	return { res, queue };
}

async function deliveredMime(key: string, id: string, queue: RecordingQueue): Promise<string> {
	await runQueue("mq-send", queue.sent);
	const email = await json<{ status: string }>(await request(`/v1/emails/${id}`, { key }));
	expect(email.status).toBe("sent");
	const res = await request(`/v1/emails/${id}/content`, { key });
	return new TextDecoder().decode(await res.arrayBuffer());
}

describe("attachments in POST /v1/smtp/messages", () => {
	it("delivers the attachment and the inline image it was given, which reaches sent", async () => {
		const ws = await createWorkspace();
		const { res, queue } = await submit(ws.key, invoice(ws.domain));
		expect(res.status).toBe(202);
		const { id } = await json<{ id: string }>(res);
		const mime = await deliveredMime(ws.key, id, queue);
		expect(mime).toMatch(/^Content-Disposition: attachment; filename="invoice\.pdf"\r$/m);
		expect(mime).toContain(lines(PDF));
		expect(mime).toMatch(/^Content-Disposition: inline; filename="logo\.png"\r$/m);
		expect(mime).toContain("Content-ID: <logo.1@shop.test>\r\n");
		expect(mime).toContain(PNG);
		expect(mime).toContain('src="cid:logo.1@shop.test"');
	});

	it("names a part without a file name, makes a name safe, and keeps no Content-ID on a plain attachment (parsed form); the MIME stays the client's", async () => {
		const ws = await createWorkspace();
		const extra = [
			"--mixed",
			"Content-Type: text/calendar; method=REQUEST",
			"Content-Disposition: attachment",
			"Content-Transfer-Encoding: base64",
			"",
			ICS,
			"--mixed",
			"Content-Type: text/plain",
			'Content-Disposition: attachment; filename="../notes\\\\x.txt"',
			"Content-ID: <notes@shop.test>",
			"",
			"notes",
		];
		const { res, queue } = await submit(ws.key, invoice(ws.domain, extra));
		expect(res.status).toBe(202);
		const job = queue.sent[0] as SendJob;
		expect(job.message).toBeUndefined(); // files always go to R2
		const { id } = await json<{ id: string }>(res);
		// The parsed attachments, which API gateways (Resend, Postmark, …) send.
		const stored = await (await env.BODIES.get(job.contentKey ?? ""))?.json<{ attachments: unknown[] }>();
		// The calendar part is the fourth file of the message (the image, the PDF, then it).
		expect(stored?.attachments).toEqual(
			expect.arrayContaining([
				expect.objectContaining({ filename: "attachment-3.ics", content: ICS, contentType: "text/calendar" }),
			]),
		);
		const named = stored?.attachments.find((a) => (a as { filename: string }).filename === ".._notes_x.txt");
		expect(named).toBeDefined();
		expect(named).not.toHaveProperty("contentId");
		// The delivered MIME is the client's: its parts as written, the unsafe name included.
		const mime = await deliveredMime(ws.key, id, queue);
		expect(mime).toContain(`Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n${ICS}\r\n`);
		expect(mime).toContain(
			'Content-Disposition: attachment; filename="../notes\\\\x.txt"\r\nContent-ID: <notes@shop.test>',
		);
	});
});
