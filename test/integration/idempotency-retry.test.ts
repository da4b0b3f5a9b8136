// Retries that cannot duplicate: under an Idempotency-Key message ids are stable, a partly failed
// batch is retried item by item under the same ids, and a request that outlived its lock cannot
// complete or release the entry of the request that took the key over.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { idempotencyStore } from "../../src/domain/idempotency";
import type { SendJob } from "../../src/domain/messages/model";
import { verifyMessageId } from "../../src/lib/ids";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Item = { index: number; id?: string; status?: string; error?: { code: string; message: string } };
type BatchResponse = { data: Item[]; accepted: number; rejected: number };

/** Enqueues what it is given, then loses the answer: the client sees a failure, the queue has the job. */
class LostAnswerQueue extends RecordingQueue {
	lose = true;
	override async send(body: unknown): Promise<QueueSendResponse> {
		const result = await super.send(body);
		if (this.lose) throw new Error("connection reset after enqueue");
		return result;
	}
}

/** Fails the sendBatch calls listed in `failing` (1-based), after enqueuing half of that chunk. */
class FlakyChunkQueue extends RecordingQueue {
	failing = new Set<number>();
	private calls = 0;
	override async sendBatch(messages: Iterable<MessageSendRequest<unknown>>): Promise<QueueSendBatchResponse> {
		const call = ++this.calls;
		const list = [...messages];
		if (!this.failing.has(call)) return super.sendBatch(list);
		await super.sendBatch(list.slice(0, Math.floor(list.length / 2)));
		throw new Error("sendBatch failed midway");
	}
}

const jobIds = (queue: RecordingQueue) => queue.sent.map((j) => (j as SendJob).id);

async function messageRows(workspaceId: string) {
	const { results } = await env.DB.prepare("SELECT id FROM messages WHERE workspace_id = ?").bind(workspaceId).all<{
		id: string;
	}>();
	return results.map((r) => r.id);
}

describe("a retry under the same Idempotency-Key", () => {
	it("reuses the message id after a 503 whose enqueue did happen, and the consumer keeps one message", async () => {
		const ws = await createWorkspace();
		const queue = new LostAnswerQueue();
		const headers = { "idempotency-key": "lost-1" };
		const send = () =>
			request("/v1/emails", { key: ws.key, body: sampleEmail(ws.domain), headers, env: { SEND_QUEUE: queue } });
		const first = await send();
		expect(first.status).toBe(503);
		expect((await json<{ error: { message: string } }>(first)).error.message).toMatch(/same Idempotency-Key/);
		queue.lose = false;
		const retry = await send();
		expect(retry.status).toBe(202);
		const { id } = await json<{ id: string }>(retry);
		expect(jobIds(queue)).toEqual([id, id]);
		expect(queue.sent[0]).toEqual(queue.sent[1]);
		expect(await verifyMessageId(env.SIGNING_KEY, ws.id, id)).toBe(true);

		await runQueue("mq-send", queue.sent);
		expect(await messageRows(ws.id)).toEqual([id]);
		// And the completed key now replays the same answer.
		const replay = await send();
		expect(replay.headers.get("idempotent-replayed")).toBe("true");
		expect((await json<{ id: string }>(replay)).id).toBe(id);
	});

	it("gives different keys, and different items of one request, different ids", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const items = [sampleEmail(ws.domain), sampleEmail(ws.domain)];
		for (const key of ["ids-a", "ids-b"]) {
			await request("/v1/emails/batch", {
				key: ws.key,
				body: items,
				headers: { "idempotency-key": key },
				env: { SEND_QUEUE: queue },
			});
		}
		expect(new Set(jobIds(queue)).size).toBe(4);
	});

	it("re-attempts only the failed chunk of a batch, under the same ids, and answers the merged result", async () => {
		const ws = await createWorkspace();
		const queue = new FlakyChunkQueue();
		queue.failing.add(2);
		const items = Array.from({ length: 150 }, (_, i) => sampleEmail(ws.domain, { to: `r${i}@x.test` }));
		items[7] = sampleEmail(ws.domain, { headers: { Sender: "x@x.test" } });
		const headers = { "idempotency-key": "batch-partial" };
		const send = () => request("/v1/emails/batch", { key: ws.key, body: items, headers, env: { SEND_QUEUE: queue } });

		const first = await send();
		expect(first.status).toBe(202);
		const partial = await json<BatchResponse>(first);
		const accepted = partial.data.filter((d) => d.id);
		const unconfirmed = partial.data.filter((d) => d.error?.code === "service_unavailable");
		// 149 valid items: a chunk of 100 that went through and one of 49 that failed.
		expect(accepted).toHaveLength(100);
		expect(unconfirmed).toHaveLength(49);
		expect(unconfirmed[0]?.error?.message).toMatch(/Retry with the same Idempotency-Key/);
		expect(partial.data[7]?.error?.code).toBe("header_not_allowed");
		const afterFirst = queue.sent.length; // 100 + the 24 the failed chunk let through
		expect(afterFirst).toBe(124);

		const second = await send();
		expect(second.status).toBe(202);
		expect(second.headers.get("idempotent-replayed")).toBeNull();
		const merged = await json<BatchResponse>(second);
		expect(merged.accepted).toBe(149);
		expect(merged.rejected).toBe(1);
		expect(merged.data.map((d) => d.index)).toEqual(items.map((_, i) => i));
		// Items accepted the first time keep their ids; only the failed chunk was enqueued again.
		for (const a of accepted) expect(merged.data[a.index]?.id).toBe(a.id);
		const retried = queue.sent.slice(afterFirst).map((j) => (j as SendJob).id);
		expect(retried.sort()).toEqual(unconfirmed.map((u) => merged.data[u.index]?.id).sort());
		// The 25 that got through the failed chunk were enqueued under the ids the retry used.
		const leaked = jobIds(queue).slice(100, afterFirst);
		expect(leaked).toHaveLength(24);
		for (const id of leaked) expect(retried).toContain(id);

		// Each message lands once, whatever the queue carried twice.
		for (let i = 0; i < queue.sent.length; i += 100) await runQueue("mq-send", queue.sent.slice(i, i + 100));
		const rows = await messageRows(ws.id);
		expect(rows).toHaveLength(149);
		expect(new Set(rows)).toEqual(new Set(merged.data.flatMap((d) => (d.id ? [d.id] : []))));

		// Complete now: the merged answer is replayed and nothing more is enqueued.
		const third = await send();
		expect(third.headers.get("idempotent-replayed")).toBe("true");
		expect(await json(third)).toEqual(merged);
		expect(queue.sent).toHaveLength(afterFirst + 49);
	});

	it("keeps partial progress when the retry fails again, and refuses a different body under the key", async () => {
		const ws = await createWorkspace();
		const queue = new FlakyChunkQueue();
		queue.failing = new Set([2, 3]);
		const items = Array.from({ length: 120 }, (_, i) => sampleEmail(ws.domain, { to: `r${i}@x.test` }));
		const headers = { "idempotency-key": "batch-twice" };
		const send = (body: unknown) =>
			request("/v1/emails/batch", { key: ws.key, body, headers, env: { SEND_QUEUE: queue } });
		const first = await json<BatchResponse>(await send(items));
		expect(first.accepted).toBe(100);
		const second = await json<BatchResponse>(await send(items));
		expect(second).toEqual(first);
		const other = await send(items.slice(1));
		expect(other.status).toBe(422);
		const third = await json<BatchResponse>(await send(items));
		expect(third.accepted).toBe(120);
		expect(third.data.slice(0, 100)).toEqual(first.data.slice(0, 100));
	});

	it("without a key, says the outcome of unconfirmed items is unknown", async () => {
		const ws = await createWorkspace();
		const queue = new FlakyChunkQueue();
		queue.failing.add(2);
		const items = Array.from({ length: 101 }, (_, i) => sampleEmail(ws.domain, { to: `r${i}@x.test` }));
		const body = await json<BatchResponse>(
			await request("/v1/emails/batch", { key: ws.key, body: items, env: { SEND_QUEUE: queue } }),
		);
		expect(body.data[100]?.error?.message).toMatch(/unknown.*Send an Idempotency-Key/);
	});
});

describe("the in-flight lock is fenced", () => {
	it("a holder that outlived its lock can neither complete nor release the next holder's entry", async () => {
		const ws = await createWorkspace();
		const stub = idempotencyStore(env.IDEMPOTENCY, ws.id, "fence");
		const fp = "a".repeat(64);
		const stale = await stub.begin("fence", fp);
		if (stale.kind !== "proceed") throw new Error(`expected proceed, got ${stale.kind}`);
		// The first request stalls past IN_FLIGHT_LOCK_MS.
		await runInDurableObject(stub, (_instance, state) => {
			state.storage.sql.exec("UPDATE entries SET locked_until = ? WHERE key = 'fence'", Date.now() - 1);
		});
		const current = await stub.begin("fence", fp);
		if (current.kind !== "proceed") throw new Error(`expected proceed, got ${current.kind}`);
		expect(current.token).toBeGreaterThan(stale.token);
		expect(current.firstSeenAt).toBe(stale.firstSeenAt);

		expect(await stub.complete("fence", stale.token, 202, '{"from":"stale"}')).toBe(false);
		expect(await stub.release("fence", stale.token, null)).toBe(false);
		expect(await stub.begin("fence", fp)).toEqual({ kind: "in_flight" });

		expect(await stub.complete("fence", current.token, 202, '{"from":"current"}')).toBe(true);
		expect(await stub.begin("fence", fp)).toEqual({ kind: "replay", status: 202, body: '{"from":"current"}' });
		expect(await stub.release("fence", current.token, null)).toBe(false);
	});

	it("a released key keeps its fingerprint, first-seen time and partial progress", async () => {
		const ws = await createWorkspace();
		const stub = idempotencyStore(env.IDEMPOTENCY, ws.id, "released");
		const first = await stub.begin("released", "fp-1");
		if (first.kind !== "proceed") throw new Error("expected proceed");
		expect(await stub.release("released", first.token, '{"0":"ID"}')).toBe(true);
		expect(await stub.begin("released", "fp-2")).toEqual({ kind: "mismatch" });
		const again = await stub.begin("released", "fp-1");
		expect(again).toMatchObject({ kind: "proceed", firstSeenAt: first.firstSeenAt, partial: '{"0":"ID"}' });
	});
});
