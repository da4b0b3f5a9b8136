// Named queues: CRUD with a default per workspace, "queue" on send, pause holds and resume releases
// everything, drain cancels and counts, higher priority first under contention.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sweepStranded } from "../../src/domain/delivery/recovery";
import type { SendJob } from "../../src/domain/messages/model";
import { defaultQueueId } from "../../src/domain/queues/queues";
import { messageState } from "../helpers/delivery";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace, insertKey } from "../helpers/workspace";

type Queue = { id: string; name: string; priority: number; paused: boolean; released?: number };
type Stats = Record<string, number | boolean | null>;

async function newQueue(key: string, body: Record<string, unknown>): Promise<Queue> {
	const res = await request("/v1/queues", { key, body });
	expect(res.status).toBe(201);
	return json<Queue>(res);
}

async function sendTo(ws: { key: string; domain: string }, n: number, queue: string | undefined, sink: RecordingQueue) {
	const items = Array.from({ length: n }, (_, i) =>
		sampleEmail(ws.domain, { to: `r${i}@x.test`, ...(queue ? { queue } : {}) }),
	);
	const res = await request("/v1/emails/batch", { key: ws.key, body: items, env: { SEND_QUEUE: sink } });
	expect(res.status).toBe(202);
	return (await json<{ data: { id: string }[] }>(res)).data.map((d) => d.id);
}

const stats = async (key: string, id: string) => json<Stats>(await request(`/v1/queues/${id}/stats`, { key }));

describe("/v1/queues", () => {
	it("lists a default queue, creates, changes and deletes others, and refuses what it must", async () => {
		const ws = await createWorkspace();
		const list = await json<{ data: Queue[] }>(await request("/v1/queues", { key: ws.key }));
		expect(list.data).toEqual([expect.objectContaining({ id: defaultQueueId(ws.id), name: "default", priority: 5 })]);
		const bulk = await newQueue(ws.key, { name: "bulk", priority: 2, rate_per_minute: 100 });
		expect(bulk).toMatchObject({ name: "bulk", priority: 2, paused: false });
		expect((await request("/v1/queues", { key: ws.key, body: { name: "bulk" } })).status).toBe(409);
		expect((await request("/v1/queues", { key: ws.key, body: { name: "x", priority: 11 } })).status).toBe(422);
		const patched = await request(`/v1/queues/${bulk.id}`, { key: ws.key, method: "PATCH", body: { priority: 3 } });
		expect((await json<Queue>(patched)).priority).toBe(3);
		expect((await request(`/v1/queues/${defaultQueueId(ws.id)}`, { key: ws.key, method: "DELETE" })).status).toBe(409);
		expect((await request(`/v1/queues/${bulk.id}`, { key: ws.key, method: "DELETE" })).status).toBe(204);
		expect((await request(`/v1/queues/${bulk.id}`, { key: ws.key })).status).toBe(404);
		// Another workspace's queue is not found, and the scope is needed.
		const other = await createWorkspace();
		const theirs = await newQueue(other.key, { name: "theirs" });
		expect((await request(`/v1/queues/${theirs.id}`, { key: ws.key })).status).toBe(404);
		const sender = await insertKey(ws.id, { scopes: ["email:send"] });
		expect((await request("/v1/queues", { key: sender.key })).status).toBe(403);
	});

	it('puts a message on the queue named by "queue", the default without one, and refuses an unknown name', async () => {
		const ws = await createWorkspace();
		const bulk = await newQueue(ws.key, { name: "bulk" });
		const sink = new RecordingQueue();
		await sendTo(ws, 1, "bulk", sink);
		await sendTo(ws, 1, bulk.id, sink);
		await sendTo(ws, 1, undefined, sink);
		expect(sink.sent.map((j) => (j as SendJob).queueId)).toEqual([bulk.id, bulk.id, defaultQueueId(ws.id)]);
		const unknown = await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail(ws.domain, { queue: "nope" }),
			env: { SEND_QUEUE: sink },
		});
		expect(unknown.status).toBe(422);
		await runQueue("mq-send", sink.sent, { SEND_QUEUE: new RecordingQueue() });
		expect(await stats(ws.key, bulk.id)).toMatchObject({ sent: 2, queued: 0 });
	});

	it("holds everything a paused queue receives and releases all of it on resume, none lost", async () => {
		const ws = await createWorkspace();
		const q = await newQueue(ws.key, { name: "held" });
		expect((await json<Queue>(await request(`/v1/queues/${q.id}/pause`, { key: ws.key, method: "POST" }))).paused).toBe(
			true,
		);
		const sink = new RecordingQueue();
		const ids = await sendTo(ws, 30, "held", sink);
		// A paused queue still accepts; the consumer takes nothing from it and keeps no queue message.
		const redrives = new RecordingQueue();
		const held = await runQueue("mq-send", sink.sent, { SEND_QUEUE: redrives });
		expect(held.explicitAcks).toHaveLength(30);
		expect(redrives.sent).toHaveLength(0);
		expect(await stats(ws.key, q.id)).toMatchObject({ paused: true, queued: 30, sent: 0 });
		// Parked rows are out of the recovery sweep's sight, however long the pause lasts...
		const swept = async () => {
			const sink = new RecordingQueue();
			const events = { events: new RecordingQueue(), webhooks: new RecordingQueue() };
			await sweepStranded({ db: env.DB, sendQueue: sink, events }, Date.now() + 3_600_000);
			return sink.sent.filter((j) => ids.includes((j as { id: string }).id)).length;
		};
		expect(await swept()).toBe(0);
		// Mail of other queues is not held.
		const other = new RecordingQueue();
		const [free] = await sendTo(ws, 1, undefined, other);
		await runQueue("mq-send", other.sent, { SEND_QUEUE: new RecordingQueue() });
		expect((await messageState(free ?? ""))?.status).toBe("sent");

		const released = new RecordingQueue();
		const resumed = await request(`/v1/queues/${q.id}/resume`, {
			key: ws.key,
			method: "POST",
			env: { SEND_QUEUE: released },
		});
		expect(await json<Queue>(resumed)).toMatchObject({ paused: false, released: 30 });
		expect(new Set(released.sent.map((j) => (j as { id: string }).id))).toEqual(new Set(ids));
		// ...and back in it once resumed: a release the queue lost would still be re-driven.
		expect(await swept()).toBe(30);
		await runQueue("mq-send", released.sent, { SEND_QUEUE: new RecordingQueue() });
		expect(await stats(ws.key, q.id)).toMatchObject({ paused: false, queued: 0, sent: 30 });
	});

	it("drains what waits and answers the count", async () => {
		const ws = await createWorkspace();
		const q = await newQueue(ws.key, { name: "drained" });
		await request(`/v1/queues/${q.id}/pause`, { key: ws.key, method: "POST" });
		const sink = new RecordingQueue();
		const ids = await sendTo(ws, 7, "drained", sink);
		await runQueue("mq-send", sink.sent, { SEND_QUEUE: new RecordingQueue() });
		const drained = await request(`/v1/queues/${q.id}/drain`, { key: ws.key, method: "POST" });
		expect(await json(drained)).toEqual({ queue_id: q.id, cancelled: 7 });
		expect(await stats(ws.key, q.id)).toMatchObject({ queued: 0, cancelled: 7, oldest_age_seconds: null });
		expect((await messageState(ids[0] ?? ""))?.status).toBe("cancelled");
		// Nothing is left to release, and a second drain finds nothing.
		const resumed = await request(`/v1/queues/${q.id}/resume`, {
			key: ws.key,
			method: "POST",
			env: { SEND_QUEUE: sink },
		});
		expect((await json<Queue>(resumed)).released).toBe(0);
		expect(await json(await request(`/v1/queues/${q.id}/drain`, { key: ws.key, method: "POST" }))).toMatchObject({
			cancelled: 0,
		});
	});

	it("serves the higher-priority queue first when a limit leaves room for only part of a batch", async () => {
		const ws = await createWorkspace();
		const low = await newQueue(ws.key, { name: "low", priority: 1 });
		const high = await newQueue(ws.key, { name: "high", priority: 10 });
		await request("/v1/rate-limits", {
			key: ws.key,
			method: "PUT",
			body: { limits: [{ scope: "workspace", window: "hour", limit: 5, kind: "soft" }] },
		});
		const sink = new RecordingQueue();
		// The low-priority mail is accepted first and sits first in the consumer's batch.
		await sendTo(ws, 5, "low", sink);
		await sendTo(ws, 5, "high", sink);
		await runQueue("mq-send", sink.sent, { SEND_QUEUE: new RecordingQueue() });
		expect(await stats(ws.key, high.id)).toMatchObject({ sent: 5, deferred: 0 });
		expect(await stats(ws.key, low.id)).toMatchObject({ sent: 0, deferred: 5 });
	});
});
