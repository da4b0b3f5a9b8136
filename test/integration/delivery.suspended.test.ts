// A suspended workspace's mail is held by the claim: not sent, not dropped, handed back to the queue
// for later, and sent once the workspace is active again. Every test shows the same message is sent
// the moment the workspace is active, so "not sent" is not a consumer that sends nothing anyway.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sweepStranded } from "../../src/domain/delivery/recovery";
import { SUSPENDED_HOLD_SECONDS } from "../../src/domain/delivery/retry";
import { countingDriver, eventTypes, job, messageState, withDriver } from "../helpers/delivery";
import { RecordingQueue, runQueue } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const setStatus = (id: string, status: "active" | "suspended") =>
	env.DB.prepare("UPDATE workspaces SET status = ? WHERE id = ?").bind(status, id).run();

describe("mail of a suspended workspace", () => {
	it("is materialized but not claimed, handed back with reason suspended, and sent after resumption", async () => {
		const ws = await createWorkspace({ mode: "live" });
		const driver = countingDriver();
		await withDriver(ws.id, "cloudflare", driver.factory, async () => {
			const body = await job(ws.id, ws.domain)();
			await setStatus(ws.id, "suspended");
			const before = Date.now();
			const held = new RecordingQueue();
			const run = await runQueue("mq-send", [body], { SEND_QUEUE: held });
			expect(driver.sends).toHaveLength(0);
			expect(run.explicitAcks).toEqual(run.ids);
			expect(run.retryMessages).toEqual([]);
			expect(held.sent).toEqual([{ v: 1, kind: "redrive", id: body.id, workspaceId: ws.id, reason: "suspended" }]);
			expect(held.delays).toEqual([SUSPENDED_HOLD_SECONDS]);
			const state = await messageState(body.id);
			expect(state).toMatchObject({ status: "queued", attempts: 0, lease_token: null });
			// Not due before the hold ends, so the recovery sweep leaves it to the copy on the queue.
			expect(state?.next_attempt_at).toBeGreaterThanOrEqual(before + SUSPENDED_HOLD_SECONDS * 1000);
			expect(await eventTypes(body.id)).toEqual(["queued"]);

			// Still suspended when the copy comes back: held again, nothing spent.
			const again = new RecordingQueue();
			await runQueue("mq-send", held.sent, { SEND_QUEUE: again });
			expect(driver.sends).toHaveLength(0);
			expect(again.sent).toEqual(held.sent);

			await setStatus(ws.id, "active");
			const released = new RecordingQueue();
			const done = await runQueue("mq-send", again.sent, { SEND_QUEUE: released });
			expect(done.explicitAcks).toEqual(done.ids);
			expect(driver.sends).toEqual([["a@x.test"]]);
			expect(released.sent).toEqual([]);
			expect(await messageState(body.id)).toMatchObject({ status: "sent", attempts: 1 });
			expect(await eventTypes(body.id)).toEqual(["queued", "processing", "sent:a@x.test"]);
		});
	});

	it("holds only the suspended workspace's messages of a mixed batch", async () => {
		const suspended = await createWorkspace({ mode: "live" });
		const active = await createWorkspace({ mode: "live" });
		const driver = countingDriver();
		await withDriver(suspended.id, "cloudflare", driver.factory, async () => {
			await withDriver(active.id, "cloudflare", driver.factory, async () => {
				const mine = await job(suspended.id, suspended.domain, { to: [{ email: "held@x.test" }] })();
				const theirs = await job(active.id, active.domain, { to: [{ email: "sent@x.test" }] })();
				await setStatus(suspended.id, "suspended");
				const held = new RecordingQueue();
				await runQueue("mq-send", [mine, theirs], { SEND_QUEUE: held });
				expect(driver.sends).toEqual([["sent@x.test"]]);
				expect(held.sent).toEqual([expect.objectContaining({ id: mine.id, reason: "suspended" })]);
				expect((await messageState(theirs.id))?.status).toBe("sent");
				expect((await messageState(mine.id))?.status).toBe("queued");
			});
		});
	});

	it("releases a dead consumer's expired lease into a held deferral instead of spinning on it", async () => {
		const ws = await createWorkspace({ mode: "live" });
		const driver = countingDriver();
		await withDriver(ws.id, "cloudflare", driver.factory, async () => {
			const body = await job(ws.id, ws.domain)();
			await runQueue("mq-send", [body], { SEND_QUEUE: new RecordingQueue() });
			expect(driver.sends).toHaveLength(1);
			// Back to processing, as if a consumer had claimed it again and died a second ago.
			await env.DB.batch([
				env.DB.prepare(
					"UPDATE messages SET status = 'processing', lease_token = 'dead', lease_expires_at = ? WHERE id = ?",
				).bind(Date.now() - 1000, body.id),
				env.DB.prepare("UPDATE message_recipients SET status = 'processing' WHERE message_id = ?").bind(body.id),
			]);
			await setStatus(ws.id, "suspended");
			const held = new RecordingQueue();
			await runQueue("mq-send", [{ v: 1, kind: "redrive", id: body.id, workspaceId: ws.id, reason: "recovered" }], {
				SEND_QUEUE: held,
			});
			expect(driver.sends).toHaveLength(1);
			expect(held.sent).toEqual([expect.objectContaining({ id: body.id, reason: "suspended" })]);
			expect(held.delays).toEqual([SUSPENDED_HOLD_SECONDS]);
			expect(await messageState(body.id)).toMatchObject({ status: "deferred", lease_token: null });

			// The copy arrives when the hold has run out (the queue's delay); by then the workspace is active.
			await setStatus(ws.id, "active");
			await env.DB.prepare("UPDATE messages SET next_attempt_at = ? WHERE id = ?")
				.bind(Date.now() - 1, body.id)
				.run();
			await runQueue("mq-send", held.sent, { SEND_QUEUE: new RecordingQueue() });
			expect(driver.sends).toHaveLength(2);
			expect((await messageState(body.id))?.status).toBe("sent");
		});
	});

	it("is not re-driven by the recovery sweep while the hold runs, and is once it has passed", async () => {
		const ws = await createWorkspace({ mode: "live" });
		const body = await job(ws.id, ws.domain)();
		await setStatus(ws.id, "suspended");
		const now = Date.now();
		await runQueue("mq-send", [body], { SEND_QUEUE: new RecordingQueue() });
		const sweep = async (at: number) => {
			const queue = new RecordingQueue();
			await sweepStranded({ db: env.DB, sendQueue: queue, events: { events: queue, webhooks: queue } }, at);
			return queue.sent.filter((j) => (j as { id?: string }).id === body.id);
		};
		// Three minutes on, an unheld queued row would be stranded (grace two minutes): this one is not.
		expect(await sweep(now + 3 * 60_000)).toEqual([]);
		expect(await sweep(now + SUSPENDED_HOLD_SECONDS * 1000 + 3 * 60_000)).toEqual([
			expect.objectContaining({ id: body.id, reason: "recovered" }),
		]);
	});
});
