// Attachments on the send API: validated, carried through R2, rendered once, and still there on a
// later attempt.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SendJob } from "../../src/domain/messages/model";
import type { DriverFactory } from "../../src/providers/types";
import { messageState, withDriver } from "../helpers/delivery";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const pdf = btoa("%PDF-1.4\n".concat("x".repeat(300)));
const png = btoa("\x89PNG\r\n\x1a\nlogo");

describe("attachments", () => {
	it("renders files and inline images once, base64 in 76-character lines, from content kept in R2", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const res = await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail(ws.domain, {
				html: '<p>Hi <img src="cid:logo"></p>',
				attachments: [
					{ filename: "invoice.pdf", content: pdf },
					{ filename: "logo.png", content: png, content_id: "logo" },
				],
			}),
			env: { SEND_QUEUE: queue },
		});
		expect(res.status).toBe(202);
		const { id } = await json<{ id: string }>(res);
		const job = queue.sent[0] as SendJob;
		// Small as it is, the message went to R2: D1 keeps no files, and a later attempt needs them.
		expect(job.message).toBeUndefined();
		expect(await env.BODIES.head(job.contentKey ?? "")).not.toBeNull();

		await runQueue("mq-send", queue.sent, { SEND_QUEUE: new RecordingQueue() });
		expect((await messageState(id))?.status).toBe("sent");
		const mime = await (await request(`/v1/emails/${id}/content`, { key: ws.key })).text();
		expect(mime).toMatch(/^Content-Type: multipart\/mixed; boundary=/m);
		expect(mime).toMatch(/^Content-Type: application\/pdf; name="invoice\.pdf"\r$/m);
		expect(mime).toMatch(/^Content-Disposition: attachment; filename="invoice\.pdf"\r$/m);
		expect(mime).toMatch(/^Content-Disposition: inline; filename="logo\.png"\r$/m);
		expect(mime).toMatch(/^Content-ID: <logo>\r$/m);
		const pdfLines = pdf.match(/.{1,76}/g) ?? [];
		expect(pdfLines.length).toBeGreaterThan(1);
		expect(mime).toContain(pdfLines.join("\r\n"));
	});

	it("refuses attachments that are not base64, have unsafe names or are too many, naming the field", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const cases: [unknown, string][] = [
			[[{ filename: "a.pdf", content: "not base64!" }], "attachments.0.content"],
			[[{ filename: 'a".pdf', content: pdf }], "attachments.0.filename"],
			[[{ filename: "a.pdf", content: pdf, content_type: "pdf" }], "attachments.0.content_type"],
			[Array.from({ length: 21 }, () => ({ filename: "a.pdf", content: pdf })), "attachments"],
		];
		for (const [attachments, path] of cases) {
			const res = await request("/v1/emails", {
				key: ws.key,
				body: sampleEmail(ws.domain, { attachments }),
				env: { SEND_QUEUE: queue },
			});
			expect(res.status).toBe(422);
			const body = await json<{ error: { details: { path: string }[] } }>(res);
			expect(body.error.details.map((d) => d.path)).toContain(path);
		}
		expect(queue.sent).toEqual([]);
	});

	it("sends the same files on a later attempt, rebuilt from R2", async () => {
		const ws = await createWorkspace({ mode: "live", gateway: false });
		const raws: string[] = [];
		const flaky: DriverFactory = (spec) => ({
			id: spec.id,
			type: spec.type,
			send: async (message, envelope) => {
				raws.push(message.raw);
				return {
					recipients: envelope.recipients.map((r) =>
						raws.length === 1
							? { email: r.email, status: "temporary" as const, response: "451 try later" }
							: { email: r.email, status: "accepted" as const, providerMessageId: "p" },
					),
				};
			},
		});
		await withDriver(ws.id, "cloudflare", flaky, async () => {
			const queue = new RecordingQueue();
			const res = await request("/v1/emails", {
				key: ws.key,
				body: sampleEmail(ws.domain, { attachments: [{ filename: "invoice.pdf", content: pdf }] }),
				env: { SEND_QUEUE: queue },
			});
			expect(res.status).toBe(202);
			const redrives = new RecordingQueue();
			await runQueue("mq-send", queue.sent, { SEND_QUEUE: redrives });
			expect(redrives.sent).toHaveLength(1);
			await runQueue("mq-send", redrives.sent, { SEND_QUEUE: new RecordingQueue() });
			expect(raws).toHaveLength(2);
			for (const raw of raws) expect(raw).toMatch(/filename="invoice\.pdf"/);
		});
	});
});
