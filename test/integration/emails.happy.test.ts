// Send → queue message → consumer → D1 → sandbox → sent, driven step by step so each stage is seen.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SendJob } from "../../src/domain/messages/model";
import { counters } from "../../src/lib/metrics";
import worker from "../../workers/index";
import { json, RecordingQueue, request, runQueue, sampleEmail, testEnv } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Email = {
	id: string;
	status: string;
	from: { email: string; name: string | null } | null;
	to: { email: string }[];
	subject: string | null;
	tags: string[];
	metadata: Record<string, string>;
	events: { type: string; created_at: string }[];
	sent_at: string | null;
};

async function sendOne(overrides: Record<string, unknown> = {}) {
	const ws = await createWorkspace();
	const queue = new RecordingQueue();
	const res = await request("/v1/emails", {
		key: ws.key,
		body: sampleEmail(ws.domain, overrides),
		env: { SEND_QUEUE: queue },
	});
	expect(res.status).toBe(202);
	const body = await json<{ id: string; status: string }>(res);
	return { ws, queue, id: body.id, body };
}

describe("POST /v1/emails", () => {
	it("answers 202 queued only once the job is on the send queue", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		let open = () => {};
		queue.gate = new Promise((resolve) => {
			open = resolve;
		});
		const entered = queue.nextSend();
		let answered = false;
		// worker.fetch itself, not request(): request() also waits for waitUntil work, which would hide
		// a send moved off the response path.
		const ctx = createExecutionContext();
		const pending = Promise.resolve(
			worker.fetch(
				new Request("https://relay.test/v1/emails", {
					method: "POST",
					headers: { authorization: `Bearer ${ws.key}`, "content-type": "application/json" },
					body: JSON.stringify(sampleEmail(ws.domain)),
				}),
				testEnv({ SEND_QUEUE: queue }),
				ctx,
			),
		).then((res) => {
			answered = true;
			return res;
		});
		await entered;
		// The send has started but is not confirmed: no answer yet (a send moved into waitUntil fails here).
		await new Promise((r) => setTimeout(r, 50));
		expect(answered).toBe(false);
		expect(queue.sent).toEqual([]);
		open();
		const res = await pending;
		await waitOnExecutionContext(ctx);
		expect(res.status).toBe(202);
		const body = await json<{ id: string; status: string }>(res);
		expect(body).toEqual({ id: body.id, status: "queued" });
		expect(queue.sent).toHaveLength(1);
		const job = queue.sent[0] as SendJob;
		expect(job.id).toBe(body.id);
		expect(job.message?.subject).toBe("Hi");
		expect(job.message?.from).toEqual({ email: expect.stringMatching(/^app@/), name: "App" });
	});

	it("reads as queued between the 202 and materialization, never 404", async () => {
		const { ws, id } = await sendOne();
		const res = await request(`/v1/emails/${id}`, { key: ws.key });
		expect(res.status).toBe(200);
		const email = await json<Email>(res);
		expect(email.status).toBe("queued");
		expect(email.events.map((e) => e.type)).toEqual(["queued"]);
	});

	it("is materialized, delivered through the sandbox and shows status sent with its events", async () => {
		const { ws, queue, id } = await sendOne();
		const result = await runQueue("mq-send", queue.sent);
		expect(result.explicitAcks).toEqual(result.ids);

		const email = await json<Email>(await request(`/v1/emails/${id}`, { key: ws.key }));
		expect(email.status).toBe("sent");
		expect(email.from?.email).toBe(`app@${ws.domain}`);
		expect(email.to.map((t) => t.email)).toEqual(["a@x.test"]);
		expect(email.tags).toEqual(["welcome"]);
		expect(email.metadata).toEqual({ order: "42" });
		expect(email.events.map((e) => e.type)).toEqual(["queued", "processing", "sent"]);
		expect(email.sent_at).not.toBeNull();

		const content = await request(`/v1/emails/${id}/content`, { key: ws.key });
		expect(content.status).toBe(200);
		expect(content.headers.get("content-type")).toBe("message/rfc822");
		const mime = await content.text();
		expect(mime).toMatch(/^To: <a@x\.test>$/m);
		expect(mime).toContain(`X-Mail-Queue-ID: ${id}`);
		expect(mime).toContain("<p>Hi</p>");
	});

	it("turns one queue message delivered twice into one row and one send", async () => {
		const { queue, id } = await sendOne();
		const before = counters.messages_sent_total;
		const first = await runQueue("mq-send", queue.sent);
		const second = await runQueue("mq-send", queue.sent);
		expect(first.explicitAcks).toHaveLength(1);
		expect(second.explicitAcks).toHaveLength(1);
		expect(counters.messages_sent_total - before).toBe(1);
		const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM messages WHERE id = ?")
			.bind(id)
			.first<{ n: number }>();
		expect(rows?.n).toBe(1);
		const sent = await env.DB.prepare("SELECT COUNT(*) AS n FROM events WHERE message_id = ? AND type = 'sent'")
			.bind(id)
			.first<{ n: number }>();
		expect(sent?.n).toBe(1);
	});

	it("retries only the message that failed and acks the others", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		for (const to of ["ok1@x.test", "tempfail@x.test", "ok2@x.test"]) {
			const res = await request("/v1/emails", {
				key: ws.key,
				body: sampleEmail(ws.domain, { to }),
				env: { SEND_QUEUE: queue },
			});
			expect(res.status).toBe(202);
		}
		const redrives = new RecordingQueue();
		const result = await runQueue("mq-send", queue.sent, { SEND_QUEUE: redrives });
		// Every queue message is acked: the next attempt is a new queue message, not a spent queue retry.
		expect(result.retryBatch.retry).toBe(false);
		expect(result.retryMessages).toEqual([]);
		expect(result.explicitAcks).toEqual(result.ids);
		const failedId = (queue.sent[1] as SendJob).id;
		// The first retry is immediate (DESIGN.md schedule: immediate, 30 s, 2 min, …).
		expect(redrives.sent).toEqual([{ v: 1, kind: "redrive", id: failedId, workspaceId: ws.id, reason: "deferred" }]);
		expect(redrives.delays).toEqual([0]);

		const email = await json<Email & { last_error: string }>(await request(`/v1/emails/${failedId}`, { key: ws.key }));
		expect(email.status).toBe("deferred");
		expect(email.last_error).toContain("temporary");
		expect(email.events.map((e) => e.type)).toEqual(["queued", "processing", "deferred"]);
	});

	it("delivers cc, bcc and several reply-to addresses, with bcc kept out of the headers", async () => {
		const { ws, queue, id } = await sendOne({
			cc: "Cee <c@x.test>",
			bcc: ["hidden@x.test"],
			reply_to: ["r1@x.test", "Zoë <r2@x.test>"],
		});
		const result = await runQueue("mq-send", queue.sent);
		expect(result.explicitAcks).toEqual(result.ids);
		const email = await json<Email & { cc: { email: string }[]; bcc: { email: string }[] }>(
			await request(`/v1/emails/${id}`, { key: ws.key }),
		);
		expect(email.status).toBe("sent");
		expect(email.cc).toEqual([{ email: "c@x.test", name: "Cee" }]);
		expect(email.bcc).toEqual([{ email: "hidden@x.test", name: null }]);
		const mime = await (await request(`/v1/emails/${id}/content`, { key: ws.key })).text();
		expect(mime).toMatch(/^Reply-To: r1@x\.test, =\?utf-8\?B\?/m);
		expect(mime).not.toContain("hidden@x.test");
	});

	it("rejects permanently failed recipients without retrying", async () => {
		const { ws, queue, id } = await sendOne({ to: ["reject@x.test"] });
		const result = await runQueue("mq-send", queue.sent);
		expect(result.explicitAcks).toEqual(result.ids);
		expect(result.retryMessages).toEqual([]);
		const email = await json<Email>(await request(`/v1/emails/${id}`, { key: ws.key }));
		expect(email.status).toBe("rejected");
	});

	it("marks a message whose retries ran out as failed when it reaches the DLQ", async () => {
		const { ws, queue, id } = await sendOne({ to: ["tempfail@x.test"] });
		await runQueue("mq-send", queue.sent);
		const dlq = await runQueue("mq-send-dlq", queue.sent);
		expect(dlq.ackAll).toBe(true);
		const email = await json<Email>(await request(`/v1/emails/${id}`, { key: ws.key }));
		expect(email.status).toBe("failed");
		expect(email.events.at(-1)?.type).toBe("failed");
	});

	it("dead-letters a queue body that is not a send job instead of retrying it", async () => {
		const dlq = new RecordingQueue();
		const result = await runQueue("mq-send", [{ nonsense: true }], { SEND_DLQ: dlq });
		expect(result.explicitAcks).toEqual(result.ids);
		expect(dlq.sent).toEqual([
			{ deadLettered: { reason: expect.stringContaining("not a send job"), body: { nonsense: true } } },
		]);
	});

	it("dead-letters only the message whose R2 content is corrupt, and delivers the rest", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail(ws.domain, { html: "x".repeat(200_000) }),
			env: { SEND_QUEUE: queue },
		});
		await request("/v1/emails", { key: ws.key, body: sampleEmail(ws.domain), env: { SEND_QUEUE: queue } });
		const big = queue.sent[0] as SendJob;
		await env.BODIES.put(big.contentKey ?? "", "{ not json");
		const dlq = new RecordingQueue();
		const result = await runQueue("mq-send", queue.sent, { SEND_DLQ: dlq });
		expect(result.explicitAcks).toEqual(result.ids);
		expect(dlq.sent).toHaveLength(1);
		const ok = await json<Email>(await request(`/v1/emails/${(queue.sent[1] as SendJob).id}`, { key: ws.key }));
		expect(ok.status).toBe("sent");
	});

	it("sends a test-key message through the sandbox even when the workspace has no gateway", async () => {
		const ws = await createWorkspace({ gateway: false });
		const queue = new RecordingQueue();
		const res = await request("/v1/emails", { key: ws.key, body: sampleEmail(ws.domain), env: { SEND_QUEUE: queue } });
		await runQueue("mq-send", queue.sent);
		const email = await json<Email>(
			await request(`/v1/emails/${(await json<{ id: string }>(res)).id}`, { key: ws.key }),
		);
		expect(email.status).toBe("sent");
	});

	it("fails a live-key message when the workspace has no enabled gateway", async () => {
		const ws = await createWorkspace({ gateway: false, mode: "live" });
		const queue = new RecordingQueue();
		const res = await request("/v1/emails", { key: ws.key, body: sampleEmail(ws.domain), env: { SEND_QUEUE: queue } });
		await runQueue("mq-send", queue.sent);
		const email = await json<Email & { last_error: string }>(
			await request(`/v1/emails/${(await json<{ id: string }>(res)).id}`, { key: ws.key }),
		);
		expect(email.status).toBe("failed");
		expect(email.last_error).toContain("no enabled gateway");
	});

	it("materializes a full batch whose bodies together exceed D1's 2 MB string limit", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const items = Array.from({ length: 100 }, (_, i) =>
			sampleEmail(ws.domain, { to: `r${i}@x.test`, html: `<p>${"y".repeat(40_000)}</p>` }),
		);
		expect((await request("/v1/emails/batch", { key: ws.key, body: items, env: { SEND_QUEUE: queue } })).status).toBe(
			202,
		);
		const result = await runQueue("mq-send", queue.sent);
		expect(result.explicitAcks).toHaveLength(100);
		const sent = await env.DB.prepare("SELECT COUNT(*) AS n FROM messages WHERE workspace_id = ? AND status = 'sent'")
			.bind(ws.id)
			.first<{ n: number }>();
		expect(sent?.n).toBe(100);
	});

	it("moves content too large for a queue message to R2 and still delivers it", async () => {
		const html = `<p>${"x".repeat(300 * 1024)}</p>`;
		const { ws, queue, id } = await sendOne({ html });
		const job = queue.sent[0] as SendJob;
		expect(job.message).toBeUndefined();
		expect(job.contentKey).toBeDefined();
		expect(JSON.stringify(job).length).toBeLessThan(2000);
		await runQueue("mq-send", queue.sent);
		const row = await env.DB.prepare("SELECT status, html, content_key FROM messages WHERE id = ?")
			.bind(id)
			.first<{ status: string; html: string | null; content_key: string }>();
		expect(row).toEqual({ status: "sent", html: null, content_key: job.contentKey });
		const mime = await (await request(`/v1/emails/${id}/content`, { key: ws.key })).text();
		expect(mime.length).toBeGreaterThan(300 * 1024);
	});
});

describe("GET /v1/emails/{id}", () => {
	it("lists events in lifecycle order when they share a millisecond", async () => {
		const { ws, queue, id } = await sendOne();
		await runQueue("mq-send", queue.sent);
		await env.DB.prepare("UPDATE events SET created_at = 1 WHERE message_id = ?").bind(id).run();
		const email = await json<Email>(await request(`/v1/emails/${id}`, { key: ws.key }));
		expect(email.events.map((e) => e.type)).toEqual(["queued", "processing", "sent"]);
	});

	it("answers 404 for a forged id, a malformed id and another workspace's id", async () => {
		const { ws, queue, id } = await sendOne();
		// Materialized, so the other workspace's lookup really reaches the row and must not see it.
		await runQueue("mq-send", queue.sent);
		expect((await json<Email>(await request(`/v1/emails/${id}`, { key: ws.key }))).status).toBe("sent");
		const other = await createWorkspace();
		const forged = `${id.slice(0, 26)}AAAAAAAA`;
		for (const candidate of [forged, "not-an-id", id]) {
			const res = await request(`/v1/emails/${candidate}`, { key: other.key });
			expect(res.status).toBe(404);
			expect((await json<{ error: { code: string } }>(res)).error.code).toBe("not_found");
		}
	});
});
