// POST /v1/emails/{id}/cancel and /retry: what each takes, what it refuses with 409, the races with
// a consumer that holds the message, and that the consumer then sends a cancelled message never and
// a retried one exactly once.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newMessageId } from "../../src/lib/ids";
import {
	accepted,
	countingDriver,
	eventTypes,
	job,
	messageState,
	recipientStates,
	scriptedDriver,
	unavailable,
	withDriver,
} from "../helpers/delivery";
import { json, RecordingQueue, request, runQueue } from "../helpers/worker";
import { createWorkspace, insertKey } from "../helpers/workspace";

type Envelope = { error: { code: string; message: string; request_id: string } };

const post = (path: string, key: string, env?: Record<string, unknown>) =>
	request(path, { method: "POST", key, ...(env ? { env } : {}) });

/** A materialized message left `deferred` by a gateway answering 503 (its redrive job is returned). */
async function deferredMessage(ws: { id: string; domain: string }) {
	const body = await job(ws.id, ws.domain)();
	const failing = scriptedDriver(unavailable);
	const redrives = new RecordingQueue();
	await withDriver(ws.id, "resend", failing.factory, () => runQueue("mq-send", [body], { SEND_QUEUE: redrives }));
	expect((await messageState(body.id))?.status).toBe("deferred");
	return { id: body.id, redrives: redrives.sent };
}

describe("POST /v1/emails/{id}/cancel", () => {
	it("cancels a deferred message: status, recipients and one event, and its redrive then sends nothing", async () => {
		const ws = await createWorkspace({ mode: "live", gateway: false });
		const cancelled = await deferredMessage(ws);
		const control = await deferredMessage(ws);
		const events = new RecordingQueue();
		const res = await post(`/v1/emails/${cancelled.id}/cancel`, ws.key, { EVENTS_QUEUE: events });
		expect(res.status).toBe(200);
		expect(await json(res)).toEqual({ id: cancelled.id, status: "cancelled" });
		expect((await messageState(cancelled.id))?.status).toBe("cancelled");
		expect((await recipientStates(cancelled.id)).map((r) => r.status)).toEqual(["cancelled"]);
		expect((await eventTypes(cancelled.id)).at(-1)).toBe("cancelled");
		expect(events.sent).toEqual([expect.objectContaining({ type: "cancelled", messageId: cancelled.id })]);

		// Both redrives arrive; the control shows the same redrive would have sent.
		const driver = countingDriver();
		await withDriver(ws.id, "cloudflare", driver.factory, () =>
			runQueue("mq-send", [...cancelled.redrives, ...control.redrives], { SEND_QUEUE: new RecordingQueue() }),
		);
		expect(driver.sends).toEqual([["a@x.test"]]);
		expect((await messageState(control.id))?.status).toBe("sent");
		expect((await messageState(cancelled.id))?.status).toBe("cancelled");

		// Cancelled is final: a second cancel is a 409 naming the status.
		const again = await post(`/v1/emails/${cancelled.id}/cancel`, ws.key);
		expect(again.status).toBe(409);
		expect((await json<Envelope>(again)).error.message).toContain("is cancelled");
	});

	it("cancels an accepted id before it is materialized: its queue job arrives and is never sent", async () => {
		const ws = await createWorkspace({ mode: "live", gateway: false });
		const early = await job(ws.id, ws.domain)();
		const control = await job(ws.id, ws.domain)();
		const res = await post(`/v1/emails/${early.id}/cancel`, ws.key);
		expect(res.status).toBe(200);
		const driver = countingDriver();
		const result = await withDriver(ws.id, "cloudflare", driver.factory, () =>
			runQueue("mq-send", [early, control], { SEND_QUEUE: new RecordingQueue() }),
		);
		expect(result.explicitAcks.sort()).toEqual([...result.ids].sort());
		// Only the control went out.
		expect(driver.sends).toEqual([["a@x.test"]]);
		expect((await messageState(control.id))?.status).toBe("sent");
		expect((await messageState(early.id))?.status).toBe("cancelled");
		expect((await recipientStates(early.id)).map((r) => r.status)).toEqual(["cancelled"]);
		const read = await json<{ status: string }>(await request(`/v1/emails/${early.id}`, { key: ws.key }));
		expect(read.status).toBe("cancelled");
	});

	it("answers 409 while a consumer holds the message under a live lease, and cancels once the lease ran out", async () => {
		const ws = await createWorkspace({ mode: "live", gateway: false });
		const { id } = await deferredMessage(ws);
		await env.DB.prepare(
			"UPDATE messages SET status = 'processing', lease_token = 'alive', lease_expires_at = ? WHERE id = ?",
		)
			.bind(Date.now() + 120_000, id)
			.run();
		const held = await post(`/v1/emails/${id}/cancel`, ws.key);
		expect(held.status).toBe(409);
		const body = await json<Envelope>(held);
		expect(body.error.code).toBe("conflict");
		expect(body.error.message).toContain("is processing");
		expect(await messageState(id)).toMatchObject({ status: "processing", lease_token: "alive" });

		await env.DB.prepare("UPDATE messages SET lease_expires_at = ? WHERE id = ?")
			.bind(Date.now() - 1, id)
			.run();
		expect((await post(`/v1/emails/${id}/cancel`, ws.key)).status).toBe(200);
		expect(await messageState(id)).toMatchObject({ status: "cancelled", lease_token: null });
	});

	it("answers 409 for a sent message, and cancels a scheduled one", async () => {
		const ws = await createWorkspace({ mode: "live", gateway: false });
		const body = await job(ws.id, ws.domain)();
		const driver = countingDriver();
		await withDriver(ws.id, "cloudflare", driver.factory, () =>
			runQueue("mq-send", [body], { SEND_QUEUE: new RecordingQueue() }),
		);
		const sent = await post(`/v1/emails/${body.id}/cancel`, ws.key);
		expect(sent.status).toBe(409);
		const error = (await json<Envelope>(sent)).error;
		expect(error.code).toBe("conflict");
		expect(error.message).toBe(`Email ${body.id} is sent.`);
		expect(error.request_id).toBeTruthy();

		await env.DB.prepare("UPDATE messages SET status = 'scheduled', scheduled_at = ? WHERE id = ?")
			.bind(Date.now() + 3_600_000, body.id)
			.run();
		expect((await post(`/v1/emails/${body.id}/cancel`, ws.key)).status).toBe(200);
		expect((await messageState(body.id))?.status).toBe("cancelled");
	});
});

describe("POST /v1/emails/{id}/retry", () => {
	it("sends a failed message again, once, with a fresh retry budget; a second retry is a 409", async () => {
		const ws = await createWorkspace({ mode: "live", gateway: false });
		const { id } = await deferredMessage(ws);
		// As the dead-letter path leaves it after the last attempt.
		await env.DB.batch([
			env.DB.prepare(
				"UPDATE messages SET status = 'failed', attempts = 9, last_error = 'temporary: 503', next_attempt_at = NULL WHERE id = ?",
			).bind(id),
			env.DB.prepare("UPDATE message_recipients SET status = 'failed' WHERE message_id = ?").bind(id),
		]);
		const sendQueue = new RecordingQueue();
		const events = new RecordingQueue();
		const res = await post(`/v1/emails/${id}/retry`, ws.key, { SEND_QUEUE: sendQueue, EVENTS_QUEUE: events });
		expect(res.status).toBe(200);
		expect(await json(res)).toEqual({ id, status: "deferred" });
		expect(await messageState(id)).toMatchObject({ status: "deferred", attempts: 0 });
		expect((await recipientStates(id)).map((r) => r.status)).toEqual(["deferred"]);
		expect(sendQueue.sent).toEqual([{ v: 1, kind: "redrive", id, workspaceId: ws.id, reason: "recovered" }]);
		expect(events.sent).toEqual([expect.objectContaining({ type: "requeued", data: { reason: "retry" } })]);

		const twice = await post(`/v1/emails/${id}/retry`, ws.key, { SEND_QUEUE: sendQueue });
		expect(twice.status).toBe(409);
		expect((await json<Envelope>(twice)).error.message).toContain("is deferred");
		expect(sendQueue.sent).toHaveLength(1);

		const driver = scriptedDriver(accepted);
		await withDriver(ws.id, "cloudflare", driver.factory, async () => {
			// The redrive, and a duplicate of it (at-least-once queues): one send.
			await runQueue("mq-send", sendQueue.sent, { SEND_QUEUE: new RecordingQueue() });
			await runQueue("mq-send", sendQueue.sent, { SEND_QUEUE: new RecordingQueue() });
		});
		expect(driver.calls).toEqual([["a@x.test"]]);
		expect((await messageState(id))?.status).toBe("sent");
		expect(await eventTypes(id)).toContain("requeued");
	});

	it("answers 409 for a message that has not failed, and for an accepted id not yet materialized", async () => {
		const ws = await createWorkspace({ mode: "live", gateway: false });
		const { id } = await deferredMessage(ws);
		const res = await post(`/v1/emails/${id}/retry`, ws.key);
		expect(res.status).toBe(409);
		expect((await json<Envelope>(res)).error).toMatchObject({ code: "conflict", message: `Email ${id} is deferred.` });
		const pending = await newMessageId(env.SIGNING_KEY, ws.id);
		const early = await post(`/v1/emails/${pending}/retry`, ws.key);
		expect(early.status).toBe(409);
		expect((await json<Envelope>(early)).error.message).toContain("is queued");
	});
});

describe("cancel and retry security", () => {
	it("401 without a key, 403 without email:send, 404 for another workspace's or a forged id", async () => {
		const ws = await createWorkspace({ mode: "live", gateway: false });
		const other = await createWorkspace({ mode: "live", gateway: false });
		const { id } = await deferredMessage(ws);
		const reader = await insertKey(ws.id, { scopes: ["email:read"] });
		for (const action of ["cancel", "retry"]) {
			const path = `/v1/emails/${id}/${action}`;
			const none = await request(path, { method: "POST" });
			expect(none.status).toBe(401);
			expect((await json<Envelope>(none)).error.code).toBe("unauthorized");
			const denied = await post(path, reader.key);
			expect(denied.status).toBe(403);
			expect((await json<Envelope>(denied)).error.code).toBe("forbidden");
			const foreign = await post(path, other.key);
			expect(foreign.status).toBe(404);
			expect((await json<Envelope>(foreign)).error.code).toBe("not_found");
			expect((await post(`/v1/emails/${id.slice(0, -2)}zz/${action}`, ws.key)).status).toBe(404);
		}
		// None of the refusals touched the message, and the other workspace got no tombstone.
		expect((await messageState(id))?.status).toBe("deferred");
		const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM messages WHERE workspace_id = ?")
			.bind(other.id)
			.first<{ n: number }>();
		expect(rows?.n).toBe(0);
	});
});
