// Nothing is lost silently: storage outages at each step, the DLQ path, and the one event path.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { counters } from "../../src/lib/metrics";
import { eventTypes, failingDb, job, messageState } from "../helpers/delivery";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

describe("D1 outages", () => {
	it("retries the whole batch when materializing fails, and then delivers it", async () => {
		const ws = await createWorkspace();
		const body = { ...(await job(ws.id, ws.domain)()), sandbox: true };
		const down = await runQueue("mq-send", [body], { DB: failingDb([1]) });
		expect(down.retryMessages.map((m) => m.msgId)).toEqual([down.ids[0]]);
		expect(await messageState(body.id)).toBeNull();
		const up = await runQueue("mq-send", [body], { SEND_QUEUE: new RecordingQueue() });
		expect(up.explicitAcks).toEqual(up.ids);
		expect((await messageState(body.id))?.status).toBe("sent");
	});

	it("keeps the lease when recording fails, so the message is tried again once it runs out, and sent once", async () => {
		const ws = await createWorkspace();
		const body = { ...(await job(ws.id, ws.domain)()), sandbox: true };
		const db = failingDb([2]);
		const down = await runQueue("mq-send", [body], { DB: db });
		expect(db.batches).toBe(2);
		expect(down.retryMessages.map((m) => m.msgId)).toEqual([down.ids[0]]);
		const held = await messageState(body.id);
		expect(held).toMatchObject({ status: "processing", attempts: 0 });
		expect(held?.lease_expires_at).toBeGreaterThan(Date.now());

		// The queue's retry arrives while the lease still runs: handed back for later, not sent.
		const early = new RecordingQueue();
		await runQueue("mq-send", [body], { SEND_QUEUE: early });
		expect(early.sent).toEqual([expect.objectContaining({ reason: "lease_held" })]);
		expect((await messageState(body.id))?.status).toBe("processing");

		// Once the lease has run out it is claimed and delivered.
		await env.DB.prepare("UPDATE messages SET lease_expires_at = 0 WHERE id = ?").bind(body.id).run();
		await runQueue("mq-send", early.sent, { SEND_QUEUE: new RecordingQueue() });
		expect(await messageState(body.id)).toMatchObject({ status: "sent", attempts: 1, lease_token: null });
		expect((await eventTypes(body.id)).filter((e) => e.startsWith("sent"))).toHaveLength(1);
	});

	it("retries a DLQ batch whose failure mark D1 refused, and marks it when D1 is back", async () => {
		const ws = await createWorkspace();
		const body = await job(ws.id, ws.domain)();
		const down = await runQueue("mq-send-dlq", [body], { DB: failingDb([1]) });
		expect(down.retryBatch.retry).toBe(true);
		expect(down.explicitAcks).toEqual([]);
		const up = await runQueue("mq-send-dlq", [body]);
		expect(up.ackAll).toBe(true);
		expect((await messageState(body.id))?.status).toBe("failed");
	});
});

describe("the send DLQ", () => {
	it("turns a job that never reached D1 (its R2 content is gone) into a failed row with the reason and an event", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const res = await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail(ws.domain, { html: "x".repeat(200_000) }),
			env: { SEND_QUEUE: queue },
		});
		const { id } = await json<{ id: string }>(res);
		const sent = queue.sent[0] as { contentKey: string };
		await env.BODIES.delete(sent.contentKey);

		// The send consumer cannot read it: it goes to the DLQ at once, without a row.
		const dlq = new RecordingQueue();
		await runQueue("mq-send", queue.sent, { SEND_DLQ: dlq });
		expect(await messageState(id)).toBeNull();
		expect(dlq.sent).toHaveLength(1);

		const events = new RecordingQueue();
		const result = await runQueue("mq-send-dlq", dlq.sent, {
			EVENTS_QUEUE: events,
			WEBHOOKS_QUEUE: new RecordingQueue(),
		});
		expect(result.ackAll).toBe(true);
		expect(await messageState(id)).toMatchObject({
			status: "failed",
			last_error: "the message content is missing from storage or unreadable",
		});
		expect(await eventTypes(id)).toEqual(["failed"]);
		expect(events.sent).toEqual([expect.objectContaining({ type: "failed", messageId: id })]);

		// GET shows it failed with the reason instead of `queued` for a week.
		const email = await json<{ status: string; last_error: string }>(
			await request(`/v1/emails/${id}`, { key: ws.key }),
		);
		expect(email).toMatchObject({ status: "failed", last_error: expect.stringContaining("missing") });
	});

	it("marks an exhausted materialized message failed, and leaves a sent one and one under a live lease alone", async () => {
		const ws = await createWorkspace();
		const stuck = { ...(await job(ws.id, ws.domain, { to: [{ email: "tempfail@x.test" }] })()), sandbox: true };
		const done = { ...(await job(ws.id, ws.domain)()), sandbox: true };
		const busy = { ...(await job(ws.id, ws.domain)()), sandbox: true };
		await runQueue("mq-send", [stuck, done, busy], { SEND_QUEUE: new RecordingQueue() });
		await env.DB.prepare(
			"UPDATE messages SET status = 'processing', lease_token = 't', lease_expires_at = ? WHERE id = ?",
		)
			.bind(Date.now() + 60_000, busy.id)
			.run();
		await runQueue("mq-send-dlq", [stuck, done, busy]);
		expect(await messageState(stuck.id)).toMatchObject({
			status: "failed",
			last_error: expect.stringContaining("gave up"),
		});
		expect((await messageState(done.id))?.status).toBe("sent");
		expect((await messageState(busy.id))?.status).toBe("processing");
		const recipient = await env.DB.prepare("SELECT status FROM message_recipients WHERE message_id = ?")
			.bind(stuck.id)
			.first<{ status: string }>();
		expect(recipient?.status).toBe("failed");
	});
});

describe("failed events", () => {
	it("writes one failed event per failure: none for a redelivered dead letter, a new one after a manual retry", async () => {
		const ws = await createWorkspace();
		const body = await job(ws.id, ws.domain)();
		await runQueue("mq-send-dlq", [body]);
		await runQueue("mq-send-dlq", [body]);
		expect((await eventTypes(body.id)).filter((e) => e === "failed")).toHaveLength(1);
		// As POST /v1/emails/{id}/retry leaves it: deferred again, attempts reset.
		await env.DB.prepare("UPDATE messages SET status = 'deferred', attempts = 0, updated_at = 0 WHERE id = ?")
			.bind(body.id)
			.run();
		await runQueue("mq-send-dlq", [body]);
		expect((await eventTypes(body.id)).filter((e) => e === "failed")).toHaveLength(2);
	});
});

describe("one event path", () => {
	it("feeds exactly the events written to D1 to both the events and the webhooks queue", async () => {
		const ws = await createWorkspace();
		const body = { ...(await job(ws.id, ws.domain)()), sandbox: true };
		const events = new RecordingQueue();
		const webhooks = new RecordingQueue();
		const before = counters.events_published_total;
		await runQueue("mq-send", [body], { EVENTS_QUEUE: events, WEBHOOKS_QUEUE: webhooks });
		const { results } = await env.DB.prepare(
			"SELECT id, type FROM events WHERE message_id = ? ORDER BY created_at, rowid",
		)
			.bind(body.id)
			.all<{ id: string; type: string }>();
		expect(results.map((r) => r.type)).toEqual(["queued", "processing", "sent"]);
		const ids = (q: RecordingQueue) => q.sent.map((e) => (e as { id: string }).id).sort();
		expect(ids(events)).toEqual(results.map((r) => r.id).sort());
		expect(ids(webhooks)).toEqual(ids(events));
		expect(counters.events_published_total - before).toBe(3);

		// A redelivery writes no new event, so it announces none.
		const again = new RecordingQueue();
		await runQueue("mq-send", [body], { EVENTS_QUEUE: again, WEBHOOKS_QUEUE: new RecordingQueue() });
		expect(again.sent).toEqual([]);
	});

	it("keeps the record when a queue refuses the events: D1 has them, the failure is counted", async () => {
		const ws = await createWorkspace();
		const body = { ...(await job(ws.id, ws.domain)()), sandbox: true };
		const broken = new RecordingQueue();
		broken.failure = new Error("queue down");
		const before = counters.event_publish_failures_total;
		const result = await runQueue("mq-send", [body], { EVENTS_QUEUE: broken });
		expect(result.explicitAcks).toEqual(result.ids);
		expect((await messageState(body.id))?.status).toBe("sent");
		expect(counters.event_publish_failures_total).toBeGreaterThan(before);
	});
});
