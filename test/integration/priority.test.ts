// Priority under contention (issue 9): every producer of send jobs puts a high-priority queue's jobs
// on the `mq-send-high` band and the rest on `mq-send`; and when a limit admits only part of what
// waits, a priority-9 queue's mail goes out before a priority-1 queue's mail accepted earlier,
// whichever band's batch reaches the limiter first.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sweepStranded } from "../../src/domain/delivery/recovery";
import { sendQueues } from "../../src/domain/messages/bands";
import { queueKind } from "../../workers/queue";
import { messageState } from "../helpers/delivery";
import { age, dueNow } from "../helpers/limits";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace, type TestWorkspace } from "../helpers/workspace";

type Job = { id: string; kind: string; priority?: number };
type Stats = Record<string, number | boolean | null>;

const ids = (q: RecordingQueue) => q.sent.map((j) => (j as Job).id);

async function newQueue(key: string, name: string, priority: number): Promise<string> {
	const res = await request("/v1/queues", { key, body: { name, priority } });
	expect(res.status).toBe(201);
	return (await json<{ id: string }>(res)).id;
}

/** The two bands, recorded apart. */
function bands() {
	const normal = new RecordingQueue();
	const high = new RecordingQueue();
	return { normal, high, env: { SEND_QUEUE: normal, SEND_QUEUE_HIGH: high } };
}

async function sendTo(ws: TestWorkspace, n: number, queue: string, sink: Partial<typeof env>): Promise<string[]> {
	const items = Array.from({ length: n }, (_, i) => sampleEmail(ws.domain, { to: `r${i}@x.test`, queue }));
	const res = await request("/v1/emails/batch", { key: ws.key, body: items, env: sink });
	expect(res.status).toBe(202);
	return (await json<{ data: { id: string }[] }>(res)).data.map((d) => d.id);
}

const stats = async (key: string, id: string) => json<Stats>(await request(`/v1/queues/${id}/stats`, { key }));

describe("priority bands", () => {
	it("the consumer reads both bands", () => {
		expect(queueKind("mq-send-high")).toBe("send");
		expect(queueKind("mq-send-high-production")).toBe("send");
		expect(queueKind("mq-send-high-dlq")).toBeNull();
		expect(queueKind("mq-events-high")).toBeNull();
	});

	it("accept, batch, retry, consumer redrives, the recovery sweep and resume each pick the band of the queue", async () => {
		const ws = await createWorkspace();
		await newQueue(ws.key, "urgent", 9);
		const bulkId = await newQueue(ws.key, "bulk", 1);
		const b = bands();
		// Accept: one send each, and a batch that mixes both queues is split between the bands.
		const one = await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail(ws.domain, { queue: "urgent" }),
			env: b.env,
		});
		expect(one.status).toBe(202);
		const urgentId = (await json<{ id: string }>(one)).id;
		const mixed = [
			sampleEmail(ws.domain, { queue: "bulk" }),
			sampleEmail(ws.domain, { queue: "urgent" }),
			sampleEmail(ws.domain),
		];
		const batch = await json<{ data: { id: string }[] }>(
			await request("/v1/emails/batch", { key: ws.key, body: mixed, env: b.env }),
		);
		const [bulk, urgent2, plain] = batch.data.map((d) => d.id);
		expect(ids(b.high)).toEqual([urgentId, urgent2]);
		expect(ids(b.normal)).toEqual([bulk, plain]);
		expect(b.high.sent).toEqual([
			expect.objectContaining({ kind: "accepted", priority: 9 }),
			expect.objectContaining({ kind: "accepted", priority: 9 }),
		]);

		// Consumer redrives: a soft limit of 1 holds the rest, and each redrive keeps its band.
		await request("/v1/rate-limits", {
			key: ws.key,
			method: "PUT",
			body: { limits: [{ scope: "workspace", window: "hour", limit: 1, kind: "soft" }] },
		});
		const redrives = bands();
		await runQueue("mq-send-high", b.high.sent, redrives.env);
		await runQueue("mq-send", b.normal.sent, redrives.env);
		expect((await messageState(urgentId))?.status).toBe("sent");
		expect(ids(redrives.high)).toEqual([urgent2]);
		expect(ids(redrives.normal).sort()).toEqual([bulk, plain].sort());
		expect(redrives.high.sent[0]).toMatchObject({ kind: "redrive", reason: "deferred", priority: 9 });

		// The recovery sweep: the rows are overdue, and each is re-driven in its band.
		await env.DB.prepare("UPDATE messages SET next_attempt_at = ? WHERE workspace_id = ? AND status = 'deferred'")
			.bind(Date.now() - 10 * 60_000, ws.id)
			.run();
		const swept = bands();
		const result = await sweepStranded(
			{ db: env.DB, sendQueue: sendQueues(swept.env), events: { events: swept.normal, webhooks: swept.normal } },
			Date.now(),
		);
		expect(result.redriven).toBe(3);
		expect(ids(swept.high)).toEqual([urgent2]);
		expect(swept.high.sent[0]).toMatchObject({ kind: "redrive", reason: "recovered", priority: 9 });
		expect(
			ids(swept.normal)
				.filter((id) => id === bulk || id === plain)
				.sort(),
		).toEqual([bulk, plain].sort());

		// Retry of a failed message of the urgent queue.
		await env.DB.prepare("UPDATE messages SET status = 'failed' WHERE id = ?").bind(urgent2).run();
		const retried = bands();
		expect(
			(await request(`/v1/emails/${urgent2}/retry`, { key: ws.key, method: "POST", env: retried.env })).status,
		).toBe(200);
		expect(ids(retried.high)).toEqual([urgent2]);
		expect(retried.normal.sent.filter((j) => (j as Job).kind === "redrive")).toEqual([]);

		// Resume: what a paused queue held is released into its own band (bulk: normal).
		await request(`/v1/queues/${bulkId}/pause`, { key: ws.key, method: "POST" });
		const parked = bands();
		const held = await sendTo(ws, 2, "bulk", parked.env);
		await runQueue("mq-send", parked.normal.sent, bands().env);
		const released = bands();
		const resumed = await request(`/v1/queues/${bulkId}/resume`, { key: ws.key, method: "POST", env: released.env });
		expect((await json<{ released: number }>(resumed)).released).toBe(3);
		expect(ids(released.normal)).toEqual(expect.arrayContaining(held));
		expect(released.high.sent).toEqual([]);
	});

	it("resume releases a high-priority queue into the high band", async () => {
		const ws = await createWorkspace();
		const urgentId = await newQueue(ws.key, "urgent", 8);
		await request(`/v1/queues/${urgentId}/pause`, { key: ws.key, method: "POST" });
		const parked = bands();
		const held = await sendTo(ws, 3, "urgent", parked.env);
		expect(ids(parked.high)).toEqual(held);
		await runQueue("mq-send-high", parked.high.sent, bands().env);
		const released = bands();
		await request(`/v1/queues/${urgentId}/resume`, { key: ws.key, method: "POST", env: released.env });
		expect(ids(released.high).sort()).toEqual([...held].sort());
		expect(released.high.sent[0]).toMatchObject({ reason: "resumed", priority: 8 });
		expect(released.normal.sent).toEqual([]);
	});
});

describe("higher priority first under contention", () => {
	async function contended(withUrgent: boolean) {
		const ws = await createWorkspace();
		const bulkId = await newQueue(ws.key, "bulk", 1);
		const urgentId = await newQueue(ws.key, "urgent", 9);
		await request("/v1/rate-limits", {
			key: ws.key,
			method: "PUT",
			body: { limits: [{ scope: "workspace", window: "hour", limit: 4, kind: "soft" }] },
		});
		// Eight bulk messages first: four go, four wait.
		const accepted = bands();
		await sendTo(ws, 8, "bulk", accepted.env);
		const first = bands();
		await runQueue("mq-send", accepted.normal.sent, first.env);
		expect(await stats(ws.key, bulkId)).toMatchObject({ sent: 4, deferred: 4 });
		// Then four urgent ones, accepted later: the window is full, so they wait too.
		const urgentWait = bands();
		if (withUrgent) {
			const urgent = bands();
			await sendTo(ws, 4, "urgent", urgent.env);
			await runQueue("mq-send-high", urgent.high.sent, urgentWait.env);
			expect(await stats(ws.key, urgentId)).toMatchObject({ sent: 0, deferred: 4 });
		}
		// The hour passes. The bulk redrives happen to reach the limiter first.
		await age(ws.id, 61 * 60_000);
		await dueNow(ws.id);
		await runQueue("mq-send", first.normal.sent, bands().env);
		if (withUrgent) await runQueue("mq-send-high", urgentWait.high.sent, bands().env);
		return { bulk: await stats(ws.key, bulkId), urgent: await stats(ws.key, urgentId) };
	}

	it("sends the priority-9 queue's mail before the priority-1 mail that was accepted and waiting earlier", async () => {
		const { bulk, urgent } = await contended(true);
		expect(urgent).toMatchObject({ sent: 4, deferred: 0 });
		expect(bulk).toMatchObject({ sent: 4, deferred: 4 });
	});

	it("the control: without urgent mail waiting, the same bulk redrives are sent", async () => {
		const { bulk } = await contended(false);
		expect(bulk).toMatchObject({ sent: 8, deferred: 0 });
	});
});
