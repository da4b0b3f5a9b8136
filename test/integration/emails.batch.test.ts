// POST /v1/emails/batch: per-item ids or errors, few queue round trips, idempotency.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SendJob } from "../../src/domain/messages/model";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type BatchResponse = {
	data: ({ index: number; id: string; status: string } | { index: number; error: { code: string; message: string } })[];
	accepted: number;
	rejected: number;
};

describe("POST /v1/emails/batch", () => {
	it("gives each valid item its own id and each invalid item its own error", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const items = [
			sampleEmail(ws.domain, { to: "one@x.test" }),
			sampleEmail(ws.domain, { to: "not an address" }),
			sampleEmail("unverified.test"),
			sampleEmail(ws.domain, { surprise: 1 }),
			sampleEmail(ws.domain, { to: "two@x.test" }),
		];
		const res = await request("/v1/emails/batch", { key: ws.key, body: items, env: { SEND_QUEUE: queue } });
		expect(res.status).toBe(202);
		const body = await json<BatchResponse>(res);
		expect(body.accepted).toBe(2);
		expect(body.rejected).toBe(3);
		expect(body.data.map((d) => d.index)).toEqual([0, 1, 2, 3, 4]);
		expect(body.data[0]).toMatchObject({ status: "queued" });
		expect(body.data[1]).toMatchObject({ error: { code: "validation_error", message: expect.stringContaining("to") } });
		expect(body.data[2]).toMatchObject({ error: { code: "domain_not_verified" } });
		expect(body.data[3]).toMatchObject({ error: { message: expect.stringContaining("surprise") } });
		expect(queue.sent.map((j) => (j as SendJob).id)).toEqual(
			[body.data[0], body.data[4]].map((d) => (d as { id: string }).id),
		);

		const result = await runQueue("mq-send", queue.sent);
		expect(result.explicitAcks).toHaveLength(2);
		const first = await json<{ status: string }>(
			await request(`/v1/emails/${(body.data[0] as { id: string }).id}`, { key: ws.key }),
		);
		expect(first.status).toBe("sent");
	});

	it("makes 1,000 messages durable in 10 sendBatch calls", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const items = Array.from({ length: 1000 }, (_, i) => sampleEmail(ws.domain, { to: `r${i}@x.test` }));
		const res = await request("/v1/emails/batch", { key: ws.key, body: items, env: { SEND_QUEUE: queue } });
		expect(res.status).toBe(202);
		const body = await json<BatchResponse>(res);
		expect(body.accepted).toBe(1000);
		expect(new Set(body.data.map((d) => ("id" in d ? d.id : ""))).size).toBe(1000);
		expect(queue.batchCalls).toBe(10);
		expect(queue.sendCalls).toBe(0);
	});

	it("splits batches by UTF-8 size, so non-ASCII bodies stay within sendBatch's 256 KB", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const text = "界".repeat(3000);
		const items = Array.from({ length: 100 }, (_, i) =>
			sampleEmail(ws.domain, { to: `r${i}@x.test`, text, html: undefined }),
		);
		const res = await request("/v1/emails/batch", { key: ws.key, body: items, env: { SEND_QUEUE: queue } });
		expect((await json<BatchResponse>(res)).accepted).toBe(100);
		expect(queue.batchCalls).toBeGreaterThanOrEqual(4);
	});

	it("refuses more than 1,000 items, an empty batch and a batch with no valid item, writing nothing", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const cases = [
			Array.from({ length: 1001 }, () => sampleEmail(ws.domain)),
			[],
			[
				sampleEmail(ws.domain, { to: "bad" }),
				sampleEmail("unverified.test", { html: `<p>${"x".repeat(200 * 1024)}</p>` }),
			],
		];
		for (const items of cases) {
			const res = await request("/v1/emails/batch", { key: ws.key, body: items, env: { SEND_QUEUE: queue } });
			expect(res.status).toBe(422);
			const body = await json<{ error: { code: string; request_id: string } }>(res);
			expect(body.error.code).toBe("validation_error");
			expect(body.error.request_id).toBeTruthy();
		}
		expect(queue.sent).toEqual([]);
		expect(queue.batchCalls + queue.sendCalls).toBe(0);
		// The large refused item's content never reached R2.
		expect((await env.BODIES.list({ prefix: `content/${ws.id}/` })).objects).toEqual([]);
	});

	it("replays the whole batch response for the same Idempotency-Key", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const items = [sampleEmail(ws.domain), sampleEmail(ws.domain, { to: "b@x.test" })];
		const headers = { "idempotency-key": "batch-1" };
		const first = await request("/v1/emails/batch", { key: ws.key, body: items, headers, env: { SEND_QUEUE: queue } });
		const again = await request("/v1/emails/batch", { key: ws.key, body: items, headers, env: { SEND_QUEUE: queue } });
		expect(again.status).toBe(202);
		expect(again.headers.get("idempotent-replayed")).toBe("true");
		expect(await json(again)).toEqual(await json(first));
		expect(queue.sent).toHaveLength(2);
	});

	it("reports the items whose queue chunk failed and 503s when none could be made durable", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		queue.failure = new Error("queue down");
		const res = await request("/v1/emails/batch", {
			key: ws.key,
			body: [sampleEmail(ws.domain)],
			env: { SEND_QUEUE: queue },
		});
		expect(res.status).toBe(503);
		expect((await json<{ error: { code: string } }>(res)).error.code).toBe("service_unavailable");
	});
});
