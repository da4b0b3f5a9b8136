// Helpers for the provider-compatible routes: send through a surface into a recording queue, see
// the jobs it enqueued, and drive them to `sent` through the real consumer.
import { expect } from "vitest";
import type { SendJob } from "../../src/domain/messages/model";
import { json, RecordingQueue, request, runQueue } from "./worker";

export type Sent = { res: Response; queue: RecordingQueue; jobs: SendJob[] };

/** Calls a compat route with a fresh recording queue; `jobs` are the messages it made durable. */
export async function compatRequest(
	path: string,
	options: {
		headers?: Record<string, string>;
		body?: unknown;
		rawBody?: string;
		method?: string;
		failure?: Error;
	} = {},
): Promise<Sent> {
	const queue = new RecordingQueue();
	queue.failure = options.failure ?? null;
	const res = await request(path, { ...options, env: { SEND_QUEUE: queue } });
	return { res, queue, jobs: queue.sent as SendJob[] };
}

/** Runs the consumer over what a compat route enqueued and checks each id reads `sent` on /v1. */
export async function expectDelivered(sent: Sent, key: string, ids: string[]): Promise<void> {
	expect(sent.jobs.map((j) => j.id).sort()).toEqual([...ids].sort());
	const result = await runQueue("mq-send", sent.queue.sent);
	expect(result.retryMessages).toEqual([]);
	for (const id of ids) {
		const email = await json<{ status: string }>(await request(`/v1/emails/${id}`, { key }));
		expect(email.status).toBe("sent");
	}
}

/** Delivers what a compat route enqueued and answers each message's captured MIME (sandbox gateway). */
export async function deliveredMime(sent: Sent, key: string, ids: string[]): Promise<string[]> {
	await expectDelivered(sent, key, ids);
	const decoder = new TextDecoder();
	return Promise.all(
		ids.map(async (id) => decoder.decode(await (await request(`/v1/emails/${id}/content`, { key })).arrayBuffer())),
	);
}

/** The 76-column lines a MIME writer breaks base64 into, joined as they appear in the message. */
export const mimeBase64 = (content: string) => (content.match(/.{1,76}/g) ?? []).join("\r\n");

/** A file longer than one base64 line, so the test sees the MIME writer's line breaks too. */
export const PDF_BASE64 = btoa(`%PDF-1.4\n${"x".repeat(120)}`);
export const PNG_BASE64 = btoa("\x89PNG\r\n\x1a\nlogo");

/** The file `invoice.pdf` as an attachment and `logo.png` inline as `<logo>`, both in the MIME. */
export function expectFiles(mime: string, inlineId = "logo"): void {
	expect(mime).toMatch(/^Content-Disposition: attachment; filename="invoice\.pdf"\r$/m);
	expect(mime).toContain(mimeBase64(PDF_BASE64));
	expect(mime).toMatch(/^Content-Disposition: inline; filename="logo\.png"\r$/m);
	expect(mime).toContain(`Content-ID: <${inlineId}>\r\n`);
	expect(mime).toContain(PNG_BASE64);
}
