// What /v1/smtp refuses, with the code the bridge turns into an SMTP reply, and nothing enqueued.
import { describe, expect, it } from "vitest";
import { json, RecordingQueue, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const b64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
type Envelope = { error: { code: string; message: string; request_id: string } };

const plain = (from: string, extra = "") => `From: ${from}\r\nTo: ada@x.test\r\nSubject: Hi\r\n${extra}\r\nHello\r\n`;

async function refused(
	key: string,
	body: Record<string, unknown>,
	status: number,
	code: string,
	message?: RegExp,
): Promise<void> {
	const queue = new RecordingQueue();
	const res = await request("/v1/smtp/messages", { key, body, env: { SEND_QUEUE: queue } });
	expect(res.status).toBe(status);
	const env = await json<Envelope>(res);
	expect(env.error.code).toBe(code);
	expect(env.error.request_id).toMatch(/^req_/);
	if (message) expect(env.error.message).toMatch(message);
	expect(queue.sent).toEqual([]);
	expect(queue.sendCalls + queue.batchCalls).toBe(0);
}

describe("refusals of POST /v1/smtp/messages", () => {
	it("refuses a sender domain the workspace has not verified", async () => {
		const ws = await createWorkspace();
		const body = { mail_from: "", rcpt_to: ["ada@x.test"], raw: b64(plain("app@elsewhere.test")) };
		await refused(ws.key, body, 422, "domain_not_verified", /elsewhere\.test/);
	});

	it("refuses files the API cannot carry rather than delivering the message without them", async () => {
		const ws = await createWorkspace();
		const withParts = (parts: string[][]) =>
			[
				`From: app@${ws.domain}`,
				"To: ada@x.test",
				"Subject: Invoice",
				'Content-Type: multipart/mixed; boundary="m"',
				"",
				"--m",
				"Content-Type: text/plain",
				"",
				"See attached.",
				...parts.flatMap((part) => ["--m", ...part]),
				"--m--",
				"",
			].join("\r\n");
		const pdf = (n: number, extra: string[] = []) => [
			"Content-Type: application/pdf",
			`Content-Disposition: ${extra.length > 0 ? "inline" : "attachment"}; filename="a${n}.pdf"`,
			...extra,
			"Content-Transfer-Encoding: base64",
			"",
			"JVBERi0xLjQK",
		];
		const rcpt = ["ada@x.test"];
		// Twenty files pass (shown first, so the refusals below are about the count and the id).
		const twenty = Array.from({ length: 20 }, (_, i) => pdf(i));
		const queue = new RecordingQueue();
		const accepted = await request("/v1/smtp/messages", {
			key: ws.key,
			body: { mail_from: "", rcpt_to: rcpt, raw: b64(withParts(twenty)) },
			env: { SEND_QUEUE: queue },
		});
		expect(accepted.status).toBe(202);
		const many = { mail_from: "", rcpt_to: rcpt, raw: b64(withParts([...twenty, pdf(20)])) };
		await refused(ws.key, many, 422, "validation_error", /21 attachments .* at most 20/);
		const badId = { mail_from: "", rcpt_to: rcpt, raw: b64(withParts([pdf(0, ["Content-ID: <a$b@x.test>"])])) };
		await refused(ws.key, badId, 422, "validation_error", /content_id/);
	});

	it("refuses a message without From, bad X-Metadata, bad base64 and too many recipients", async () => {
		const ws = await createWorkspace();
		const ok = plain(`app@${ws.domain}`);
		const rcpt = ["ada@x.test"];
		await refused(
			ws.key,
			{ mail_from: "", rcpt_to: rcpt, raw: b64("To: ada@x.test\r\n\r\nHi\r\n") },
			422,
			"validation_error",
			/From/,
		);
		await refused(
			ws.key,
			{ mail_from: "", rcpt_to: rcpt, raw: b64(plain(`app@${ws.domain}`, "X-Metadata: [1]\r\n")) },
			422,
			"validation_error",
			/X-Metadata/,
		);
		await refused(ws.key, { mail_from: "", rcpt_to: rcpt, raw: "%%%" }, 422, "validation_error", /base64/);
		const many = Array.from({ length: 51 }, (_, i) => `r${i}@x.test`);
		await refused(ws.key, { mail_from: "", rcpt_to: many, raw: b64(ok) }, 422, "validation_error", /at most 50/);
		await refused(ws.key, { mail_from: "", rcpt_to: [], raw: b64(ok) }, 422, "validation_error");
	});

	it("refuses an X-Idempotency-Key that is not a valid key", async () => {
		const ws = await createWorkspace();
		const raw = plain(`app@${ws.domain}`, `X-Idempotency-Key: ${"k".repeat(300)}\r\n`);
		await refused(ws.key, { mail_from: "", rcpt_to: ["ada@x.test"], raw: b64(raw) }, 400, "invalid_idempotency_key");
	});
});
