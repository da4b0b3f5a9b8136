// Nothing stranded: the cron's recovery sweep finishes every row whose queue message is gone.
import { createExecutionContext, createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { STRANDED_QUERIES } from "../../src/db/repositories/recovery";
import { DUE_GRACE_MS, LEASE_GRACE_MS, SWEEP_LIMIT, sweepStranded } from "../../src/domain/delivery/recovery";
import { ulid } from "../../src/lib/ids";
import worker from "../../workers/index";
import { eventTypes, job, messageState } from "../helpers/delivery";
import { RecordingQueue, request, runQueue, testEnv } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const deps = (sendQueue: RecordingQueue) => ({
	db: env.DB,
	sendQueue,
	events: { events: new RecordingQueue(), webhooks: new RecordingQueue() },
});

/** A sent message put back into the state a crash or a lost queue message would leave. */
async function strand(workspace: { id: string; domain: string }, state: Record<string, number | string | null>) {
	const body = { ...(await job(workspace.id, workspace.domain)()), sandbox: true };
	await runQueue("mq-send", [body], { SEND_QUEUE: new RecordingQueue() });
	const sets = Object.keys(state).map((k) => `${k} = ?`);
	await env.DB.batch([
		env.DB.prepare(`UPDATE messages SET ${sets.join(", ")}, sent_at = NULL WHERE id = ?`).bind(
			...Object.values(state),
			body.id,
		),
		env.DB.prepare("UPDATE message_recipients SET status = 'processing' WHERE message_id = ?").bind(body.id),
		env.DB.prepare("DELETE FROM events WHERE message_id = ? AND type = 'sent'").bind(body.id),
	]);
	return body;
}

describe("the recovery sweep", () => {
	it("re-drives a claimed row whose lease expired and whose queue message is gone, and it is sent once", async () => {
		const ws = await createWorkspace();
		const now = Date.now();
		const body = await strand(ws, {
			status: "processing",
			lease_token: "dead",
			lease_expires_at: now - LEASE_GRACE_MS - 1000,
		});
		const queue = new RecordingQueue();
		const result = await sweepStranded(deps(queue), now);
		expect(result.byReason.lease_expired).toBeGreaterThanOrEqual(1);
		expect(queue.sent).toContainEqual({ v: 1, kind: "redrive", id: body.id, workspaceId: ws.id, reason: "recovered" });
		expect(await messageState(body.id)).toMatchObject({ status: "deferred", lease_token: null });
		expect(await eventTypes(body.id)).toContain("requeued");

		const mine = queue.sent.filter((j) => (j as { id: string }).id === body.id);
		await runQueue("mq-send", mine, { SEND_QUEUE: new RecordingQueue() });
		expect((await messageState(body.id))?.status).toBe("sent");
		// The original queue message, redelivered late, finds it sent and changes nothing.
		const late = await runQueue("mq-send", [body, ...mine], { SEND_QUEUE: new RecordingQueue() });
		expect(late.explicitAcks).toHaveLength(2);
		expect((await eventTypes(body.id)).filter((e) => e.startsWith("sent"))).toHaveLength(1);
	});

	it("leaves a live lease alone, and a lease that ended within the grace", async () => {
		const ws = await createWorkspace();
		const now = Date.now();
		const live = await strand(ws, { status: "processing", lease_token: "alive", lease_expires_at: now + 60_000 });
		const recent = await strand(ws, { status: "processing", lease_token: "late", lease_expires_at: now - 1000 });
		const queue = new RecordingQueue();
		await sweepStranded(deps(queue), now);
		const ids = queue.sent.map((j) => (j as { id: string }).id);
		expect(ids).not.toContain(live.id);
		expect(ids).not.toContain(recent.id);
		expect(await messageState(live.id)).toMatchObject({ status: "processing", lease_token: "alive" });
		// …and the same recent row is taken once the grace has passed.
		await sweepStranded(deps(queue), now + LEASE_GRACE_MS + 2000);
		expect(queue.sent.map((j) => (j as { id: string }).id)).toContain(recent.id);
	});

	it("re-drives a deferred row past due plus the grace, and not one that is not yet due", async () => {
		const ws = await createWorkspace();
		const now = Date.now();
		const overdue = await strand(ws, { status: "deferred", next_attempt_at: now - DUE_GRACE_MS - 1000 });
		const notYet = await strand(ws, { status: "deferred", next_attempt_at: now + 30_000 });
		const queue = new RecordingQueue();
		const result = await sweepStranded(deps(queue), now);
		const ids = queue.sent.map((j) => (j as { id: string }).id);
		expect(ids).toContain(overdue.id);
		expect(ids).not.toContain(notYet.id);
		expect(result.byReason.deferred_overdue).toBeGreaterThanOrEqual(1);
		// Re-driven rows are due now: the next minute's run does not take them again.
		const again = new RecordingQueue();
		await sweepStranded(deps(again), now + 60_000);
		expect(again.sent.map((j) => (j as { id: string }).id)).not.toContain(overdue.id);
	});

	it("reads at most its bound per run, oldest first, with more stranded rows than the bound", async () => {
		const ws = await createWorkspace();
		const now = Date.now();
		const total = SWEEP_LIMIT + 50;
		const base = await job(ws.id, ws.domain)();
		const rows = Array.from(
			{ length: total },
			(_, i) => `${base.id.slice(0, 20)}${String(i).padStart(6, "0")}${base.id.slice(26)}`,
		);
		// Far in the past, so they are older than anything other tests left.
		const oldest = now - 10 * 24 * 3600_000;
		await env.DB.batch(
			rows.map((id, i) =>
				env.DB.prepare(
					"INSERT INTO messages (id, workspace_id, from_email, subject, status, next_attempt_at, created_at) VALUES (?, ?, 'a@x.test', 's', 'deferred', ?, ?)",
				).bind(id, ws.id, oldest + i, oldest),
			),
		);
		const queue = new RecordingQueue();
		const first = await sweepStranded(deps(queue), now);
		expect(first.byReason.deferred_overdue).toBe(SWEEP_LIMIT);
		const firstIds = new Set(queue.sent.map((j) => (j as { id: string }).id));
		expect(rows.slice(0, SWEEP_LIMIT).every((id) => firstIds.has(id))).toBe(true);
		const second = new RecordingQueue();
		await sweepStranded(deps(second), now + 1000);
		const secondIds = second.sent.map((j) => (j as { id: string }).id);
		expect(rows.slice(SWEEP_LIMIT).every((id) => secondIds.includes(id))).toBe(true);
	});

	it("answers each candidate query from an index, never a table scan", async () => {
		for (const sql of Object.values(STRANDED_QUERIES)) {
			const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(0, 10).all<{ detail: string }>();
			const plan = results.map((r) => r.detail).join(" | ");
			expect(plan).toMatch(/USING INDEX messages_(lease|due)/);
			expect(plan).not.toMatch(/SCAN messages(?! USING)/);
		}
	});

	it("runs from the cron trigger, and at local start-up treats every unfinished row as orphaned", async () => {
		const ws = await createWorkspace();
		const now = Date.now();
		const fresh = await strand(ws, { status: "processing", lease_token: "gone", lease_expires_at: now + 240_000 });
		const queue = new RecordingQueue();
		const tick = (cron: string, environment: string) =>
			worker.scheduled(
				createScheduledController({ scheduledTime: new Date(), cron }),
				testEnv({ SEND_QUEUE: queue, ENVIRONMENT: environment } as never),
				createExecutionContext(),
			);
		await tick("* * * * *", "development");
		expect(queue.sent.map((j) => (j as { id: string }).id)).not.toContain(fresh.id);
		// `@startup` only means "nothing is alive" in development.
		await tick("@startup", "production");
		expect(queue.sent.map((j) => (j as { id: string }).id)).not.toContain(fresh.id);
		await tick("@startup", "development");
		expect(queue.sent.map((j) => (j as { id: string }).id)).toContain(fresh.id);
	});

	it("shows on /metrics the workspace's re-drives by reason and the age of its oldest unfinished message", async () => {
		const ws = await createWorkspace();
		const now = Date.now();
		const metric = async (name: string) => {
			const text = await (await request("/metrics", { key: ws.key })).text();
			return Number(text.match(new RegExp(`^${name.replace(/[{}]/g, "\\$&")} (\\d+)$`, "m"))?.[1]);
		};
		expect(await metric('mq_messages_redriven_total{reason="lease_expired"}')).toBe(0);
		expect(await metric('mq_oldest_unfinished_message_age_seconds{status="processing"}')).toBe(0);
		const body = await strand(ws, {
			status: "processing",
			lease_token: "dead",
			lease_expires_at: now - LEASE_GRACE_MS - 1000,
		});
		const age = await metric('mq_oldest_unfinished_message_age_seconds{status="processing"}');
		expect(age).toBeGreaterThanOrEqual(0);
		expect(age).toBeLessThan(60);
		await sweepStranded(deps(new RecordingQueue()), now);
		expect(await metric('mq_messages_redriven_total{reason="lease_expired"}')).toBe(1);
		expect(await metric('mq_oldest_unfinished_message_age_seconds{status="processing"}')).toBe(0);
		expect((await messageState(body.id))?.status).toBe("deferred");
		// Ages come from the ids' time: a message accepted an hour ago reads about 3,600 s.
		await env.DB.prepare(
			"INSERT INTO messages (id, workspace_id, from_email, subject, status, next_attempt_at, created_at) VALUES (?, ?, 'a@x.test', 's', 'deferred', ?, ?)",
		)
			.bind(`${ulid(now - 3_600_000)}ABCDEFGH`, ws.id, now + 60_000, now - 3_600_000)
			.run();
		expect(await metric('mq_oldest_unfinished_message_age_seconds{status="deferred"}')).toBeGreaterThanOrEqual(3599);
	});
});
