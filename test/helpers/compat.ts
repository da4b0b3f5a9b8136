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
