// Reputation end to end: what the consumer and feedback batches count, rates over 24 h and 7 d from
// known counts, the cron's state machine (a warning raised once, the minimum volume, throttling and
// recovery with their events) and a throttled workspace's mail deferred, never failed, then sent.
import {
	createExecutionContext,
	createScheduledController,
	runInDurableObject,
	waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EventRow } from "../../src/db/repositories/events";
import { reputationIncrements } from "../../src/db/repositories/reputation";
import { limiterName } from "../../src/domain/rate-limits/model";
import { evaluateReputation } from "../../src/domain/reputation/evaluate";
import { assess, DEFAULT_REPUTATION, hourOf, nextState } from "../../src/domain/reputation/model";
import { reputationOf } from "../../src/domain/reputation/view";
import { getStub } from "../../src/lib/durable-objects";
import worker from "../../workers/index";
import { job, messageState } from "../helpers/delivery";
import { RecordingQueue, request, runQueue, testEnv } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

/** Adds counts to the workspace's counter of the hour `hoursAgo` before `now`. */
async function seed(workspaceId: string, now: number, hoursAgo: number, sent: number, bounced = 0, complained = 0) {
	await env.DB.prepare(
		`INSERT INTO reputation_counters (workspace_id, hour, sent, bounced, complained) VALUES (?1, ?2, ?3, ?4, ?5)
		 ON CONFLICT(workspace_id, hour) DO UPDATE SET sent = sent + ?3, bounced = bounced + ?4, complained = complained + ?5`,
	)
		.bind(workspaceId, hourOf(now) - hoursAgo, sent, bounced, complained)
		.run();
}

async function counters(workspaceId: string) {
	const { results } = await env.DB.prepare(
		"SELECT hour, sent, bounced, complained FROM reputation_counters WHERE workspace_id = ? ORDER BY hour",
	)
		.bind(workspaceId)
		.all<{ hour: number; sent: number; bounced: number; complained: number }>();
	return results;
}

async function reputationEvents(workspaceId: string) {
	const { results } = await env.DB.prepare(
		"SELECT type, data FROM events WHERE workspace_id = ? AND type LIKE 'reputation_%' ORDER BY created_at",
	)
		.bind(workspaceId)
		.all<{ type: string; data: string }>();
	return results.map((r) => ({ type: r.type, data: JSON.parse(r.data) as Record<string, unknown> }));
}

function queues() {
	return { events: new RecordingQueue(), webhooks: new RecordingQueue() };
}

async function tick(now: number, events = queues()) {
	return evaluateReputation({ db: env.DB, events }, now);
}

async function stateOf(workspaceId: string) {
	const view = await reputationOf(env.DB, workspaceId, Date.now());
	if (!view.ok) throw view.error;
	return view.value;
}

/** Lets a minute pass for the workspace's reputation throttle counter in its limiter. */
async function passMinute(workspaceId: string): Promise<void> {
	const stub = getStub(env.WORKSPACE_LIMITER, limiterName(workspaceId));
	await runInDurableObject(stub, (_instance, state) => {
		state.storage.sql.exec(
			"UPDATE counters SET slice = slice - 61, expires_at = expires_at - 61000 WHERE key = 't:minute'",
		);
	});
}

function eventRow(workspaceId: string, type: string, data: Record<string, unknown>, id: string): EventRow {
	return {
		id,
		workspace_id: workspaceId,
		message_id: null,
		recipient: "r@x.test",
		type,
		data: JSON.stringify(data),
		created_at: Date.now(),
	};
}

describe("reputation counters", () => {
	it("counts each recipient the consumer sent, in its outcome batch, and nothing again on a redelivery", async () => {
		const ws = await createWorkspace();
		const jobs = [
			await job(ws.id, ws.domain)(),
			await job(ws.id, ws.domain, { to: [{ email: "a@x.test" }, { email: "b@x.test" }] })(),
		];
		await runQueue("mq-send", jobs, { SEND_QUEUE: new RecordingQueue() });
		expect((await messageState(jobs[1]?.id ?? ""))?.status).toBe("sent");
		expect(await counters(ws.id)).toEqual([{ hour: hourOf(Date.now()), sent: 3, bounced: 0, complained: 0 }]);
		// The same queue messages again: the rows are final, nothing is sent or counted.
		await runQueue("mq-send", jobs, { SEND_QUEUE: new RecordingQueue() });
		expect((await counters(ws.id))[0]?.sent).toBe(3);
	});

	it("counts hard bounces, rejects heard back and complaints, once per event, from a feedback batch", async () => {
		const ws = await createWorkspace();
		const events = [
			eventRow(ws.id, "bounced", { kind: "hard_bounce", reason: "user_unknown" }, `${ws.id}:b1`),
			eventRow(ws.id, "rejected", { kind: "reject", reason: "blocked" }, `${ws.id}:r1`),
			// A rejection the consumer wrote (a rate limit, a gateway refusing at submission) is not a bounce.
			eventRow(ws.id, "rejected", { result: "permanent", error: "rate limit reached" }, `${ws.id}:r2`),
			eventRow(ws.id, "soft_bounced", { kind: "soft_bounce", reason: "mailbox_full" }, `${ws.id}:s1`),
			eventRow(ws.id, "complained", { kind: "spam" }, `${ws.id}:c1`),
		];
		const write = () =>
			env.DB.batch([
				reputationIncrements(env.DB, events, "new"),
				...events.map((e) =>
					env.DB.prepare(
						"INSERT INTO events (id, workspace_id, message_id, recipient, type, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
					).bind(e.id, e.workspace_id, e.message_id, e.recipient, e.type, e.data, e.created_at),
				),
			]);
		await write();
		expect(await counters(ws.id)).toEqual([{ hour: hourOf(Date.now()), sent: 0, bounced: 2, complained: 1 }]);
		await write(); // a replayed webhook or redelivered DSN
		expect(await counters(ws.id)).toEqual([{ hour: hourOf(Date.now()), sent: 0, bounced: 2, complained: 1 }]);
	});
});

describe("reputation rates and state", () => {
	it("computes the 24 h and 7 d rates from the hourly counts, ignoring hours outside the window", async () => {
		const ws = await createWorkspace();
		const now = Date.UTC(2030, 0, 10, 12, 30);
		await seed(ws.id, now, 0, 100, 2);
		await seed(ws.id, now, 23, 100, 1); // the 24th hour back: still in 24 h
		await seed(ws.id, now, 24, 200, 20, 1); // in 7 d only
		await seed(ws.id, now, 167, 100, 9); // the last hour of 7 d
		await seed(ws.id, now, 168, 1000, 1000, 1000); // out of every window
		const view = await reputationOf(env.DB, ws.id, now);
		if (!view.ok) throw view.error;
		expect(view.value.windows["24h"]).toEqual({
			sent: 200,
			bounced: 3,
			complained: 0,
			bounce_rate: 0.015,
			complaint_rate: 0,
		});
		expect(view.value.windows["7d"]).toEqual({
			sent: 500,
			bounced: 32,
			complained: 1,
			bounce_rate: 0.064,
			complaint_rate: 0.002,
		});
		// 24 h holds the minimum volume (200), so it is the one judged: 1.5% bounces, under the 2% warning.
		expect(view.value.assessment).toEqual({ level: "ok", window: "24h" });
		expect(view.value).toMatchObject({ state: "ok", since: null, throttled_to_per_minute: null });
		expect(view.value.settings).toEqual(DEFAULT_REPUTATION);
	});

	it("judges 7 d when 24 h is below the minimum volume, and nothing below it in both", () => {
		const low = { sent: 3, bounced: 1, complained: 0 };
		expect(assess({ "24h": low, "7d": low }, DEFAULT_REPUTATION)).toMatchObject({ level: "ok", window: null });
		const week = { sent: 400, bounced: 40, complained: 0 };
		expect(assess({ "24h": low, "7d": week }, DEFAULT_REPUTATION)).toMatchObject({
			level: "throttle",
			window: "7d",
			reason: "bounce rate 7d 10.00% ≥ 5.00%",
		});
		// Complaints have their own, much lower, thresholds: 1 in 1,000 is 0.1%.
		const complaints = { sent: 1000, bounced: 0, complained: 1 };
		expect(assess({ "24h": complaints, "7d": complaints }, DEFAULT_REPUTATION).level).toBe("throttle");
	});

	it("keeps a throttled workspace throttled until its rates are under the warning threshold", () => {
		expect(nextState("throttled", "warning")).toEqual({ state: "throttled", event: null });
		expect(nextState("throttled", "ok")).toEqual({ state: "ok", event: "reputation_recovered" });
		expect(nextState("ok", "throttle")).toEqual({ state: "throttled", event: "reputation_throttled" });
		expect(nextState("warning", "warning")).toEqual({ state: "warning", event: null });
	});

	it("raises the warning once, not on every cron tick, and publishes it", async () => {
		const ws = await createWorkspace();
		const now = Date.now();
		await seed(ws.id, now, 1, 300, 9); // 3%: past the 2% warning, under the 5% throttle
		const events = queues();
		await tick(now, events);
		expect(await reputationEvents(ws.id)).toEqual([
			{
				type: "reputation_warning",
				data: expect.objectContaining({
					state: "warning",
					previous: "ok",
					window: "24h",
					bounce_rate: 0.03,
					sent: 300,
				}),
			},
		]);
		expect(events.webhooks.sent.filter((e) => (e as { workspaceId: string }).workspaceId === ws.id)).toEqual([
			expect.objectContaining({ type: "reputation_warning", workspaceId: ws.id }),
		]);
		await tick(now + 60_000);
		await tick(now + 120_000);
		expect((await reputationEvents(ws.id)).map((e) => e.type)).toEqual(["reputation_warning"]);
		const view = await stateOf(ws.id);
		expect(view).toMatchObject({
			state: "warning",
			since: new Date(now).toISOString(),
			reason: "bounce rate 24h 3.00% ≥ 2.00%",
		});
	});

	it("does not judge a workspace under the minimum volume (1 bounce of 3 sends), and does once it has the volume", async () => {
		const ws = await createWorkspace();
		const now = Date.now();
		await seed(ws.id, now, 0, 3, 1);
		await tick(now);
		expect(await reputationEvents(ws.id)).toEqual([]);
		expect((await stateOf(ws.id)).state).toBe("ok");
		// The same 33% with the volume to say something.
		await seed(ws.id, now, 0, 297, 99);
		await tick(now + 60_000);
		expect((await reputationEvents(ws.id)).map((e) => e.type)).toEqual(["reputation_throttled"]);
	});

	it("honours a workspace's own minimum volume", async () => {
		const ws = await createWorkspace();
		const patched = await request("/v1/reputation", { key: ws.key, method: "PATCH", body: { min_volume: 3 } });
		expect(patched.status).toBe(200);
		const now = Date.now();
		await seed(ws.id, now, 0, 3, 1);
		await tick(now);
		expect((await reputationEvents(ws.id)).map((e) => e.type)).toEqual(["reputation_throttled"]);
	});
});

describe("throttling", () => {
	it("slows a workspace past the hard threshold to its throttle rate: deferred, never failed, then sent; then recovers", async () => {
		const ws = await createWorkspace();
		const patched = await request("/v1/reputation", { key: ws.key, method: "PATCH", body: { throttle_per_minute: 2 } });
		expect(patched.status).toBe(200);
		const now = Date.now();
		await seed(ws.id, now, 2, 300, 30); // 10% bounces
		await tick(now);
		expect((await reputationEvents(ws.id)).map((e) => [e.type, e.data.throttle_per_minute])).toEqual([
			["reputation_throttled", 2],
		]);
		expect(await stateOf(ws.id)).toMatchObject({ state: "throttled", throttled_to_per_minute: 2 });

		const jobs = await Promise.all([1, 2, 3, 4, 5].map(() => job(ws.id, ws.domain)()));
		const redrives = new RecordingQueue();
		await runQueue("mq-send", jobs, { SEND_QUEUE: redrives });
		const states = await Promise.all(jobs.map((j) => messageState(j.id)));
		expect(states.map((s) => s?.status)).toEqual(["sent", "sent", "deferred", "deferred", "deferred"]);
		expect(states[2]).toMatchObject({
			attempts: 0,
			last_error: "held: rate limit reached: reputation throttle 2 per minute",
		});
		expect(redrives.sent).toHaveLength(3);

		// A minute later two more go, the last one still waits.
		await passMinute(ws.id);
		await env.DB.prepare("UPDATE messages SET next_attempt_at = ? WHERE workspace_id = ? AND status = 'deferred'")
			.bind(Date.now() - 1, ws.id)
			.run();
		const again = new RecordingQueue();
		await runQueue("mq-send", redrives.sent, { SEND_QUEUE: again });
		expect((await Promise.all(jobs.map((j) => messageState(j.id)))).map((s) => s?.status)).toEqual([
			"sent",
			"sent",
			"sent",
			"sent",
			"deferred",
		]);

		// Good mail brings the rate under the warning threshold: recovered, and the throttle is gone.
		await seed(ws.id, now, 0, 5000);
		await tick(now + 60_000);
		expect((await reputationEvents(ws.id)).map((e) => e.type)).toEqual([
			"reputation_throttled",
			"reputation_recovered",
		]);
		expect(await stateOf(ws.id)).toMatchObject({ state: "ok", throttled_to_per_minute: null });
		const more = await Promise.all([1, 2, 3].map(() => job(ws.id, ws.domain)()));
		await env.DB.prepare("UPDATE messages SET next_attempt_at = ? WHERE workspace_id = ? AND status = 'deferred'")
			.bind(Date.now() - 1, ws.id)
			.run();
		await runQueue("mq-send", [...again.sent, ...more], { SEND_QUEUE: new RecordingQueue() });
		const all = await Promise.all([...jobs, ...more].map((j) => messageState(j.id)));
		expect(all.every((s) => s?.status === "sent")).toBe(true);
		expect(all.every((s) => s?.attempts === 1)).toBe(true);
	});

	it("throttles only the workspace whose rates are bad", async () => {
		const bad = await createWorkspace();
		const good = await createWorkspace();
		await request("/v1/reputation", { key: bad.key, method: "PATCH", body: { throttle_per_minute: 1 } });
		await request("/v1/reputation", { key: good.key, method: "PATCH", body: { throttle_per_minute: 1 } });
		const now = Date.now();
		await seed(bad.id, now, 0, 1000, 0, 5);
		await seed(good.id, now, 0, 1000);
		await tick(now);
		const jobs = [
			...(await Promise.all([1, 2].map(() => job(bad.id, bad.domain)()))),
			...(await Promise.all([1, 2].map(() => job(good.id, good.domain)()))),
		];
		await runQueue("mq-send", jobs, { SEND_QUEUE: new RecordingQueue() });
		expect((await Promise.all(jobs.map((j) => messageState(j.id)))).map((s) => s?.status)).toEqual([
			"sent",
			"deferred",
			"sent",
			"sent",
		]);
	});

	it("runs from the cron entrypoint", async () => {
		const ws = await createWorkspace();
		await seed(ws.id, Date.now(), 0, 1000, 100);
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), testEnv(), ctx);
		await waitOnExecutionContext(ctx);
		expect((await reputationEvents(ws.id)).map((e) => e.type)).toEqual(["reputation_throttled"]);
	});

	it("drops counters older than every window", async () => {
		const ws = await createWorkspace();
		const now = Date.now();
		await seed(ws.id, now, 0, 10);
		await seed(ws.id, now, 24 * 9, 10);
		const run = await tick(now);
		expect(run.pruned).toBeGreaterThanOrEqual(1);
		expect((await counters(ws.id)).map((c) => c.hour)).toEqual([hourOf(now)]);
	});
});
