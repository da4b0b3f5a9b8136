// Exactly once where it matters: leased claims, redeliveries and copies of one job.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { materializeAndClaim, recordOutcomes } from "../../src/db/repositories/delivery";
import { messageRow, recipientRows } from "../../src/domain/delivery/rows";
import { countingDriver, eventTypes, job, messageState, withDriver } from "../helpers/delivery";
import { RecordingQueue, runQueue } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

describe("leased claims", () => {
	it("sends once when the same job is delivered to two consumers at the same time", async () => {
		const ws = await createWorkspace({ mode: "live", gateway: false });
		const driver = countingDriver();
		await withDriver(ws.id, "cloudflare", driver.factory, async () => {
			const body = await job(ws.id, ws.domain)();
			driver.hold();
			const redrives = new RecordingQueue();
			const first = runQueue("mq-send", [body], { SEND_QUEUE: redrives });
			// Let the first consumer claim and reach the driver before the copy arrives.
			while (driver.sends.length === 0) await new Promise((r) => setTimeout(r, 5));
			const second = await runQueue("mq-send", [body], { SEND_QUEUE: redrives });
			driver.release();
			const done = await first;
			expect(driver.sends).toHaveLength(1);
			expect(done.explicitAcks).toEqual(done.ids);
			// The copy saw a live lease: it is handed back for after the lease, not dropped and not sent.
			expect(second.explicitAcks).toEqual(second.ids);
			expect(redrives.sent).toEqual([expect.objectContaining({ kind: "redrive", id: body.id, reason: "lease_held" })]);
			expect(redrives.delays[0]).toBeGreaterThan(60);
			expect((await messageState(body.id))?.status).toBe("sent");
			expect(await eventTypes(body.id)).toEqual(["queued", "processing", "sent:a@x.test"]);

			// When that hand-back arrives, the message is already sent: nothing happens.
			const late = await runQueue("mq-send", redrives.sent, { SEND_QUEUE: new RecordingQueue() });
			expect(late.explicitAcks).toEqual(late.ids);
			expect(driver.sends).toHaveLength(1);
		});
	});

	it("sends once when the same job is twice in one batch", async () => {
		const ws = await createWorkspace({ mode: "live", gateway: false });
		const driver = countingDriver();
		await withDriver(ws.id, "cloudflare", driver.factory, async () => {
			const body = await job(ws.id, ws.domain)();
			const result = await runQueue("mq-send", [body, body], { SEND_QUEUE: new RecordingQueue() });
			expect(result.explicitAcks.sort()).toEqual([...result.ids].sort());
			expect(driver.sends).toHaveLength(1);
			expect(await eventTypes(body.id)).toEqual(["queued", "processing", "sent:a@x.test"]);
		});
	});

	it("claims a row whose lease expired, and leaves one under a live lease alone", async () => {
		const ws = await createWorkspace({ mode: "live", gateway: false });
		const driver = countingDriver();
		await withDriver(ws.id, "cloudflare", driver.factory, async () => {
			const expired = await job(ws.id, ws.domain)();
			const live = await job(ws.id, ws.domain)();
			await runQueue("mq-send", [expired, live], { SEND_QUEUE: new RecordingQueue() });
			expect(driver.sends).toHaveLength(2);
			// Both back to processing as if a consumer claimed them and died; one lease ran out, one has not.
			const now = Date.now();
			await env.DB.batch([
				env.DB.prepare(
					"UPDATE messages SET status = 'processing', lease_token = 'dead', lease_expires_at = ? WHERE id = ?",
				).bind(now - 1000, expired.id),
				env.DB.prepare(
					"UPDATE messages SET status = 'processing', lease_token = 'alive', lease_expires_at = ? WHERE id = ?",
				).bind(now + 120_000, live.id),
				env.DB.prepare("UPDATE message_recipients SET status = 'processing' WHERE message_id IN (?, ?)").bind(
					expired.id,
					live.id,
				),
			]);
			const redrives = new RecordingQueue();
			const redrive = (id: string) => ({ v: 1, kind: "redrive", id, workspaceId: ws.id, reason: "recovered" });
			await runQueue("mq-send", [redrive(expired.id), redrive(live.id)], { SEND_QUEUE: redrives });
			expect(driver.sends).toHaveLength(3);
			expect((await messageState(expired.id))?.status).toBe("sent");
			const held = await messageState(live.id);
			expect(held).toMatchObject({ status: "processing", lease_token: "alive" });
			expect(redrives.sent).toEqual([expect.objectContaining({ id: live.id, reason: "lease_held" })]);
			expect(redrives.delays[0]).toBeGreaterThanOrEqual(119);
		});
	});

	it("never lets a late writer whose lease ran out overwrite the outcome of the next holder", async () => {
		const ws = await createWorkspace();
		const body = await job(ws.id, ws.domain)();
		const claim = (token: string, now: number) =>
			materializeAndClaim(env.DB, {
				rows: [messageRow(body, body.message ?? null)],
				recipients: recipientRows(body.id, body.message ?? null),
				ids: [body.id],
				contentIds: [],
				workspaceIds: [ws.id],
				token,
				leaseUntil: now + 1000,
				holdUntil: now + 1000,
				now,
			});
		const now = Date.now();
		const a = await claim("token-a", now);
		expect(a.claimed.map((c) => c.id)).toEqual([body.id]);
		// While A holds the lease nobody else can claim.
		expect((await claim("token-b", now + 10)).claimed).toEqual([]);
		// A's lease runs out; B claims and records `sent`.
		const b = await claim("token-b", now + 2000);
		expect(b.claimed.map((c) => c.id)).toEqual([body.id]);
		const outcome = (token: string, status: "sent" | "deferred") => ({
			id: body.id,
			token,
			status,
			attempts: 1,
			gateway_id: null,
			provider_message_id: status === "sent" ? "p-1" : null,
			mime_key: null,
			error: status === "sent" ? null : "temporary: late",
			next_attempt_at: null,
			recipients: [
				{ email: "a@x.test", status, tried: 1 as const, gateway_id: null, provider_message_id: null, error: null },
			],
		});
		const byB = await recordOutcomes(env.DB, [outcome("token-b", "sent")], [], now + 2100);
		expect([...byB.applied]).toEqual([body.id]);
		// A wakes up late and tries to write `deferred`: nothing changes, not even the recipient.
		const byA = await recordOutcomes(env.DB, [outcome("token-a", "deferred")], [], now + 2200);
		expect(byA.applied.size).toBe(0);
		expect(await messageState(body.id)).toMatchObject({ status: "sent", lease_token: null });
		const recipient = await env.DB.prepare("SELECT status FROM message_recipients WHERE message_id = ?")
			.bind(body.id)
			.first<{ status: string }>();
		expect(recipient?.status).toBe("sent");
	});
});
