// One classified result per recipient, and what each kind of failure does to the message.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_RETRIES } from "../../src/domain/delivery/retry";
import type { DriverFactory } from "../../src/providers/types";
import { asEnv, eventTypes, job, messageState, recipientStates, withDriver } from "../helpers/delivery";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace, insertKey } from "../helpers/workspace";

const redriveOf = (id: string, workspaceId: string) => ({ v: 1, kind: "redrive", id, workspaceId, reason: "deferred" });

describe("per-recipient results", () => {
	it("sends the accepted recipients, rejects the refused one and retries only the temporarily failed one", async () => {
		const ws = await createWorkspace();
		const body = await job(ws.id, ws.domain, {
			to: [{ email: "ok@x.test" }, { email: "reject@x.test" }],
			cc: [{ email: "tempfail@x.test" }],
		})();
		const redrives = new RecordingQueue();
		await runQueue("mq-send", [{ ...body, sandbox: true }], { SEND_QUEUE: redrives });
		expect(await messageState(body.id)).toMatchObject({ status: "deferred", attempts: 1 });
		expect(await recipientStates(body.id)).toEqual([
			expect.objectContaining({ email: "ok@x.test", status: "sent", attempts: 1 }),
			expect.objectContaining({
				email: "reject@x.test",
				status: "rejected",
				last_error: expect.stringMatching(/^permanent: 550 5\.1\.1/),
			}),
			expect.objectContaining({
				email: "tempfail@x.test",
				status: "deferred",
				last_error: expect.stringMatching(/^temporary: 451/),
			}),
		]);
		expect(redrives.sent).toEqual([redriveOf(body.id, ws.id)]);

		// The next attempt goes to the deferred recipient only.
		await runQueue("mq-send", redrives.sent, { SEND_QUEUE: new RecordingQueue() });
		expect(await messageState(body.id)).toMatchObject({ status: "deferred", attempts: 2 });
		const states = await recipientStates(body.id);
		expect(states.map((s) => [s.email, s.attempts])).toEqual([
			["ok@x.test", 1],
			["reject@x.test", 1],
			["tempfail@x.test", 2],
		]);
		expect((await eventTypes(body.id)).filter((e) => e.startsWith("sent"))).toEqual(["sent:ok@x.test"]);
		const mime = await env.BODIES.head(`mime/${ws.id}/${body.id}.eml`);
		expect(mime?.customMetadata?.envelopeTo).toBe("ok@x.test");
	});

	it("keeps the schedule in D1: a deferral is a new queue message with the next delay, not a spent queue retry", async () => {
		const ws = await createWorkspace();
		const body = await job(ws.id, ws.domain, { to: [{ email: "tempfail@x.test" }] })();
		const delays: number[] = [];
		let next: unknown[] = [{ ...body, sandbox: true }];
		for (let i = 0; i < 3; i++) {
			// As if each delay had passed.
			await env.DB.prepare("UPDATE messages SET next_attempt_at = 0 WHERE id = ?").bind(body.id).run();
			const redrives = new RecordingQueue();
			const result = await runQueue("mq-send", next, { SEND_QUEUE: redrives });
			expect(result.retryMessages).toEqual([]);
			delays.push(...redrives.delays);
			next = redrives.sent;
		}
		expect(delays).toEqual([0, 30, 120]);
		const state = await messageState(body.id);
		expect(state).toMatchObject({ status: "deferred", attempts: 3 });
		expect((state?.next_attempt_at ?? 0) - Date.now()).toBeGreaterThan(100_000);
		// And a redrive that arrives before that is handed back rather than tried early.
		const early = new RecordingQueue();
		await runQueue("mq-send", next, { SEND_QUEUE: early });
		expect(await messageState(body.id)).toMatchObject({ attempts: 3 });
		expect(early.sent).toEqual([expect.objectContaining({ reason: "not_due" })]);
	});

	it("follows a named queue's retry schedule: its delays and its retry count", async () => {
		const ws = await createWorkspace();
		const queueId = `q_fast_${ws.id}`;
		await env.DB.prepare(
			"INSERT INTO queues (id, workspace_id, name, max_retries, retry_delays) VALUES (?, ?, 'fast', 2, '[5, 7]')",
		)
			.bind(queueId, ws.id)
			.run();
		const body = { ...(await job(ws.id, ws.domain, { to: [{ email: "tempfail@x.test" }] })()), sandbox: true, queueId };
		const delays: number[] = [];
		let next: unknown[] = [body];
		for (let i = 0; i < 3; i++) {
			await env.DB.prepare("UPDATE messages SET next_attempt_at = 0 WHERE id = ?").bind(body.id).run();
			const redrives = new RecordingQueue();
			await runQueue("mq-send", next, { SEND_QUEUE: redrives });
			delays.push(...redrives.delays);
			next = redrives.sent;
		}
		// 5 s, then 7 s (the list's last delay repeats), and the third attempt is past max_retries = 2.
		expect(delays).toEqual([5, 7]);
		expect(await messageState(body.id)).toMatchObject({
			status: "failed",
			attempts: 3,
			last_error: expect.stringMatching(/^retries exhausted after 3 attempts/),
		});
	});

	it("waits for next_attempt_at: a redrive that arrives early is handed back until it is due", async () => {
		const ws = await createWorkspace();
		const body = await job(ws.id, ws.domain, { to: [{ email: "tempfail@x.test" }] })();
		await runQueue("mq-send", [{ ...body, sandbox: true }], { SEND_QUEUE: new RecordingQueue() });
		await env.DB.prepare("UPDATE messages SET next_attempt_at = ? WHERE id = ?")
			.bind(Date.now() + 60_000, body.id)
			.run();
		const redrives = new RecordingQueue();
		await runQueue("mq-send", [redriveOf(body.id, ws.id)], { SEND_QUEUE: redrives });
		expect(await messageState(body.id)).toMatchObject({ status: "deferred", attempts: 1 });
		expect(redrives.sent).toEqual([expect.objectContaining({ reason: "not_due" })]);
		expect(redrives.delays[0]).toBeGreaterThanOrEqual(59);
	});

	it("fails a message for good once its retries or its maximum age run out", async () => {
		const ws = await createWorkspace();
		const tired = await job(ws.id, ws.domain, { to: [{ email: "tempfail@x.test" }] })();
		const old = await job(ws.id, ws.domain, { to: [{ email: "tempfail@x.test" }] })();
		await runQueue(
			"mq-send",
			[
				{ ...tired, sandbox: true },
				{ ...old, sandbox: true },
			],
			{ SEND_QUEUE: new RecordingQueue() },
		);
		await env.DB.batch([
			env.DB.prepare("UPDATE messages SET attempts = ?, next_attempt_at = 0 WHERE id = ?").bind(MAX_RETRIES, tired.id),
			env.DB.prepare("UPDATE messages SET created_at = ?, next_attempt_at = 0 WHERE id = ?").bind(
				Date.now() - 73 * 3600_000,
				old.id,
			),
		]);
		const redrives = new RecordingQueue();
		await runQueue("mq-send", [redriveOf(tired.id, ws.id), redriveOf(old.id, ws.id)], { SEND_QUEUE: redrives });
		expect(redrives.sent).toEqual([]);
		for (const id of [tired.id, old.id]) {
			const state = await messageState(id);
			expect(state?.status).toBe("failed");
			expect(state?.last_error).toMatch(/^retries exhausted after \d+ attempts; last: temporary: 451/);
			expect(await eventTypes(id)).toContain("failed:tempfail@x.test");
		}
	});

	it("records a gateway credential error as the `auth` kind and tries again later", async () => {
		const ws = await createWorkspace();
		const body = await job(ws.id, ws.domain, { to: [{ email: "authfail@x.test" }] })();
		const redrives = new RecordingQueue();
		await runQueue("mq-send", [{ ...body, sandbox: true }], { SEND_QUEUE: redrives });
		expect(await messageState(body.id)).toMatchObject({
			status: "deferred",
			last_error: expect.stringMatching(/^auth: 535/),
		});
		const event = await env.DB.prepare("SELECT data FROM events WHERE message_id = ? AND type = 'deferred'")
			.bind(body.id)
			.first<{ data: string }>();
		expect(JSON.parse(event?.data ?? "{}")).toMatchObject({ result: "auth", attempt: 1 });
		expect(redrives.sent).toHaveLength(1);
	});

	it("treats a gateway that throws or times out as a temporary failure without passing its error on", async () => {
		const ws = await createWorkspace({ mode: "live", gateway: false });
		const throwing: DriverFactory = (spec) => ({
			id: spec.id,
			type: spec.type,
			send: async () => {
				throw new Error("connect failed https://user:secret-token-1234@api.example.test");
			},
		});
		await withDriver(ws.id, "cloudflare", throwing, async () => {
			const body = await job(ws.id, ws.domain)();
			await runQueue("mq-send", [body], { SEND_QUEUE: new RecordingQueue() });
			const state = await messageState(body.id);
			expect(state).toMatchObject({ status: "deferred", last_error: "temporary: the gateway driver failed (Error)" });
		});
		const hanging: DriverFactory = (spec) => ({ id: spec.id, type: spec.type, send: () => new Promise(() => {}) });
		await withDriver(ws.id, "cloudflare", hanging, async () => {
			const body = await job(ws.id, ws.domain)();
			await runQueue("mq-send", [body], asEnv({ SEND_QUEUE: new RecordingQueue(), DELIVERY_TIMEOUT_MS: "50" }));
			expect(await messageState(body.id)).toMatchObject({
				status: "deferred",
				last_error: "temporary: the gateway did not answer within 50 ms",
			});
		});
	});

	it("rejects a message that cannot be rendered at once, with the reason, and never retries it", async () => {
		const ws = await createWorkspace();
		const body = await job(ws.id, ws.domain, { headers: { "X-Broken": "a\r\nBcc: victim@x.test" } })();
		const redrives = new RecordingQueue();
		const result = await runQueue("mq-send", [{ ...body, sandbox: true }], { SEND_QUEUE: redrives });
		expect(result.explicitAcks).toEqual(result.ids);
		expect(redrives.sent).toEqual([]);
		const state = await messageState(body.id);
		expect(state?.status).toBe("rejected");
		expect(state?.last_error).toMatch(/^permanent: the message could not be rendered/);
		expect(state?.last_error).not.toContain("victim");
	});

	it("captures in the sandbox when the workspace is in sandbox_mode, even with a live key and a real gateway", async () => {
		const ws = await createWorkspace({ mode: "live", gateway: false });
		await env.DB.prepare("UPDATE workspaces SET sandbox_mode = 1 WHERE id = ?").bind(ws.id).run();
		const live = await insertKey(ws.id, { mode: "live", scopes: ["email:send", "email:read"] });
		const calls: string[] = [];
		const real: DriverFactory = (spec) => ({
			id: spec.id,
			type: spec.type,
			send: async (_m, envelope) => {
				calls.push("real");
				return {
					recipients: envelope.recipients.map((r) => ({ email: r.email, status: "accepted", providerMessageId: "x" })),
				};
			},
		});
		await withDriver(ws.id, "cloudflare", real, async () => {
			const queue = new RecordingQueue();
			const res = await request("/v1/emails", {
				key: live.key,
				body: sampleEmail(ws.domain),
				env: { SEND_QUEUE: queue },
			});
			expect(res.status).toBe(202);
			const { id } = await json<{ id: string }>(res);
			await runQueue("mq-send", queue.sent, { SEND_QUEUE: new RecordingQueue() });
			expect(calls).toEqual([]);
			expect(await messageState(id)).toMatchObject({ status: "sent" });
			expect(await env.BODIES.head(`mime/${ws.id}/${id}.eml`)).not.toBeNull();
		});
		// The same live key goes through the real gateway once the workspace leaves sandbox mode.
		await env.DB.prepare("UPDATE workspaces SET sandbox_mode = 0 WHERE id = ?").bind(ws.id).run();
		await withDriver(ws.id, "cloudflare", real, async () => {
			const body = await job(ws.id, ws.domain)();
			await runQueue("mq-send", [body], { SEND_QUEUE: new RecordingQueue() });
			expect(calls).toEqual(["real"]);
		});
	});
});
