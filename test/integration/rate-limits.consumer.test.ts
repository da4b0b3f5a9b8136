// Limits in the send consumer: a soft limit holds mail (no attempt spent) until its window opens and
// never loses it, a hard one rejects with the reason, units of unsent mail are given back, and a
// batch costs one limiter call per workspace.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { counters } from "../../src/lib/metrics";
import { eventTypes, job, messageState, recipientStates } from "../helpers/delivery";
import { age } from "../helpers/limits";
import { RecordingQueue, request, runQueue } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const put = (key: string, limits: unknown[]) => request("/v1/rate-limits", { key, method: "PUT", body: { limits } });

describe("limits in the send consumer", () => {
	it("holds mail over a soft limit without spending an attempt, then sends it when the window opens", async () => {
		const ws = await createWorkspace();
		await put(ws.key, [{ scope: "workspace", window: "hour", limit: 2, kind: "soft" }]);
		const jobs = await Promise.all([1, 2, 3].map(() => job(ws.id, ws.domain)()));
		const redrives = new RecordingQueue();
		const first = await runQueue("mq-send", jobs, { SEND_QUEUE: redrives });
		expect(first.explicitAcks.sort()).toEqual([...first.ids].sort());
		const states = await Promise.all(jobs.map((j) => messageState(j.id)));
		expect(states.map((s) => s?.status)).toEqual(["sent", "sent", "deferred"]);
		const held = states[2];
		expect(held?.attempts).toBe(0);
		expect(held?.last_error).toBe("held: rate limit reached: workspace hour soft limit 2");
		expect(held?.next_attempt_at).toBeGreaterThan(Date.now() + 59 * 60_000);
		expect((await recipientStates(jobs[2]?.id ?? "")).map((r) => r.status)).toEqual(["deferred"]);
		expect((await eventTypes(jobs[2]?.id ?? "")).map((e) => e.split(":")[0])).toEqual([
			"queued",
			"processing",
			"deferred",
		]);
		// Re-enqueued with a delay (not retry(), which would spend the queue's retry budget).
		expect(first.retryMessages).toEqual([]);
		expect(redrives.sent).toEqual([expect.objectContaining({ kind: "redrive", id: jobs[2]?.id, reason: "deferred" })]);
		expect(redrives.delays[0]).toBeGreaterThan(3500);

		// The hour passes: the redrive finds its row due and the window open.
		await age(ws.id, 61 * 60_000);
		await env.DB.prepare("UPDATE messages SET next_attempt_at = ? WHERE id = ?")
			.bind(Date.now() - 1, jobs[2]?.id)
			.run();
		const later = await runQueue("mq-send", redrives.sent, { SEND_QUEUE: new RecordingQueue() });
		expect(later.explicitAcks).toEqual(later.ids);
		const sent = await messageState(jobs[2]?.id ?? "");
		expect(sent?.status).toBe("sent");
		expect(sent?.attempts).toBe(1);
	});

	it("rejects mail over a hard sender limit with the limit as its reason", async () => {
		const ws = await createWorkspace();
		await put(ws.key, [{ scope: "sender", window: "day", limit: 1, kind: "hard" }]);
		const jobs = await Promise.all([1, 2].map(() => job(ws.id, ws.domain)()));
		await runQueue("mq-send", jobs, { SEND_QUEUE: new RecordingQueue() });
		const rejected = await messageState(jobs[1]?.id ?? "");
		expect(rejected?.status).toBe("rejected");
		expect(rejected?.last_error).toContain("rate limit reached: sender day hard limit 1");
		expect((await recipientStates(jobs[1]?.id ?? ""))[0]).toMatchObject({ status: "rejected" });
		expect((await messageState(jobs[0]?.id ?? ""))?.status).toBe("sent");
	});

	it("counts the X-User-ID header as the sender when a message has one", async () => {
		const ws = await createWorkspace();
		await put(ws.key, [{ scope: "sender", window: "day", limit: 1, kind: "hard" }]);
		const alice = await job(ws.id, ws.domain, { headers: { "X-User-ID": "alice" } })();
		const bob = await job(ws.id, ws.domain, { headers: { "X-User-ID": "bob" } })();
		const alice2 = await job(ws.id, ws.domain, { headers: { "x-user-id": "Alice" } })();
		await runQueue("mq-send", [alice, bob, alice2], { SEND_QUEUE: new RecordingQueue() });
		expect((await Promise.all([alice, bob, alice2].map((j) => messageState(j.id)))).map((s) => s?.status)).toEqual([
			"sent",
			"sent",
			"rejected",
		]);
	});

	it("gives back the unit of a message that was granted and not sent", async () => {
		const ws = await createWorkspace({ gateway: false });
		await put(ws.key, [{ scope: "workspace", window: "day", limit: 1, kind: "hard" }]);
		// No gateway: the first message fails without being sent, so its unit returns...
		const lost = await job(ws.id, ws.domain)();
		await runQueue("mq-send", [lost], { SEND_QUEUE: new RecordingQueue() });
		expect((await messageState(lost.id))?.status).toBe("failed");
		const usage = await (await request("/v1/rate-limits", { key: ws.key })).json<{ limits: { used: number }[] }>();
		expect(usage.limits[0]?.used).toBe(0);
		// ...and the next one is not refused by the hard limit (it fails for want of a gateway instead).
		const next = await job(ws.id, ws.domain)();
		await runQueue("mq-send", [next], { SEND_QUEUE: new RecordingQueue() });
		expect((await messageState(next.id))?.last_error).not.toContain("rate limit");
	});

	it("asks the limiter once per workspace for a batch of 100, and gives nothing back when all is sent", async () => {
		const a = await createWorkspace();
		const b = await createWorkspace();
		const jobs = [
			...(await Promise.all(Array.from({ length: 60 }, () => job(a.id, a.domain)()))),
			...(await Promise.all(Array.from({ length: 40 }, () => job(b.id, b.domain)()))),
		];
		const before = counters.limiter_calls_total;
		const result = await runQueue("mq-send", jobs, { SEND_QUEUE: new RecordingQueue() });
		expect(result.explicitAcks).toHaveLength(100);
		expect(counters.limiter_calls_total - before).toBe(2);
	});
});
