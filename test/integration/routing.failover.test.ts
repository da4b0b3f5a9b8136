// Routing and failover through the consumer: a failing gateway hands its recipients to the next one
// inside the same attempt, permanent refusals stay put, and with nothing eligible mail waits.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	accepted,
	eventTypes,
	job,
	messageState,
	recipientStates,
	scriptedDriver,
	unavailable,
	withDriver,
} from "../helpers/delivery";
import { RecordingQueue, runQueue } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const live = () => createWorkspace({ mode: "live", gateway: false });

describe("failover", () => {
	it("moves recipients from a gateway answering 503 to a healthy one within one attempt", async () => {
		const ws = await live();
		const down = scriptedDriver((email) => unavailable(email));
		const up = scriptedDriver((email) => accepted(email));
		await withDriver(
			ws.id,
			"smtp",
			down.factory,
			(downId) =>
				withDriver(
					ws.id,
					"cloudflare",
					up.factory,
					async (upId) => {
						const body = await job(ws.id, ws.domain, { to: [{ email: "a@x.test" }, { email: "b@x.test" }] })();
						const redrives = new RecordingQueue();
						await runQueue("mq-send", [body], { SEND_QUEUE: redrives });
						expect(down.calls).toEqual([["a@x.test", "b@x.test"]]);
						expect(up.calls).toEqual([["a@x.test", "b@x.test"]]);
						expect(redrives.sent).toEqual([]);
						expect(await messageState(body.id)).toMatchObject({ status: "sent", attempts: 1 });
						const event = await env.DB.prepare("SELECT data FROM events WHERE message_id = ? AND type = 'sent' LIMIT 1")
							.bind(body.id)
							.first<{ data: string }>();
						expect(JSON.parse(event?.data ?? "{}")).toMatchObject({ gateway_id: upId, gateways_tried: [downId, upId] });
					},
					{ priority: 2 },
				),
			{ priority: 1 },
		);
	});

	it("never retries a permanent refusal on another gateway", async () => {
		const ws = await live();
		const first = scriptedDriver((email) =>
			email.startsWith("bad") ? { email, status: "permanent", response: "550 5.1.1 no such user" } : accepted(email),
		);
		const second = scriptedDriver((email) => accepted(email));
		await withDriver(
			ws.id,
			"smtp",
			first.factory,
			() =>
				withDriver(
					ws.id,
					"cloudflare",
					second.factory,
					async () => {
						const body = await job(ws.id, ws.domain, { to: [{ email: "bad@x.test" }, { email: "good@x.test" }] })();
						await runQueue("mq-send", [body], { SEND_QUEUE: new RecordingQueue() });
						expect(second.calls).toEqual([]);
						expect((await recipientStates(body.id)).map((r) => [r.email, r.status])).toEqual([
							["bad@x.test", "rejected"],
							["good@x.test", "sent"],
						]);
					},
					{ priority: 2 },
				),
			{ priority: 1 },
		);
	});

	it("defers when every gateway is down, then delivers all after recovery, none lost and none twice", async () => {
		const ws = await live();
		let healthy = false;
		const a = scriptedDriver((email) => (healthy ? accepted(email) : unavailable(email)));
		const b = scriptedDriver((email) => (healthy ? accepted(email) : unavailable(email)));
		// Breakers that reopen to probes after 1 s and let a whole batch probe, so recovery is quick to see.
		const quick = JSON.stringify({ breaker: { timeout_seconds: 1, max_requests: 50, success_threshold: 1 } });
		await withDriver(
			ws.id,
			"smtp",
			a.factory,
			(aId) =>
				withDriver(
					ws.id,
					"cloudflare",
					b.factory,
					async (bId) => {
						await env.DB.prepare("UPDATE gateways SET config = ? WHERE id IN (?, ?)").bind(quick, aId, bId).run();
						const bodies = await Promise.all(Array.from({ length: 20 }, () => job(ws.id, ws.domain)()));
						let redrives = new RecordingQueue();
						await runQueue("mq-send", bodies, { SEND_QUEUE: redrives });
						for (const body of bodies) expect((await messageState(body.id))?.status).toBe("deferred");
						expect(redrives.sent).toHaveLength(20);
						// Each recipient went once to each gateway in this attempt.
						expect(a.calls).toHaveLength(20);
						expect(b.calls).toHaveLength(20);

						// Both breakers are open now: another attempt at once reaches neither gateway.
						await env.DB.prepare("UPDATE messages SET next_attempt_at = 0 WHERE workspace_id = ?").bind(ws.id).run();
						const early = new RecordingQueue();
						await runQueue("mq-send", redrives.sent, { SEND_QUEUE: early });
						expect(a.calls).toHaveLength(20);
						expect(b.calls).toHaveLength(20);

						healthy = true;
						await new Promise((r) => setTimeout(r, 1100));
						redrives = early;
						for (let round = 0; round < 5 && redrives.sent.length > 0; round++) {
							await env.DB.prepare("UPDATE messages SET next_attempt_at = 0 WHERE workspace_id = ?").bind(ws.id).run();
							const next = new RecordingQueue();
							await runQueue("mq-send", redrives.sent, { SEND_QUEUE: next });
							redrives = next;
						}
						for (const body of bodies) {
							expect((await messageState(body.id))?.status).toBe("sent");
							expect((await eventTypes(body.id)).filter((e) => e.startsWith("sent"))).toHaveLength(1);
						}
						// Every message went out through the first gateway once it was back, none twice.
						expect(a.calls).toHaveLength(40);
						expect(b.calls).toHaveLength(20);
					},
					{ priority: 2 },
				),
			{ priority: 1 },
		);
	});

	it("holds mail no gateway may take, without spending an attempt", async () => {
		const ws = await live();
		const only = scriptedDriver((email) => accepted(email));
		await withDriver(ws.id, "smtp", only.factory, async (id) => {
			await env.DB.prepare("UPDATE gateways SET health_status = 'unhealthy' WHERE id = ?").bind(id).run();
			const body = await job(ws.id, ws.domain)();
			const redrives = new RecordingQueue();
			await runQueue("mq-send", [body], { SEND_QUEUE: redrives });
			expect(only.calls).toEqual([]);
			const state = await messageState(body.id);
			expect(state).toMatchObject({ status: "deferred", attempts: 0 });
			expect(state?.last_error).toMatch(/^held: /);
			expect(redrives.delays).toEqual([30]);

			await env.DB.prepare("UPDATE gateways SET health_status = 'healthy' WHERE id = ?").bind(id).run();
			await env.DB.prepare("UPDATE messages SET next_attempt_at = 0 WHERE id = ?").bind(body.id).run();
			await runQueue("mq-send", redrives.sent, { SEND_QUEUE: new RecordingQueue() });
			expect(await messageState(body.id)).toMatchObject({ status: "sent", attempts: 1 });
		});
	});
});

describe("routing through the consumer", () => {
	it("sends one message's recipients through the gateways their domains route to", async () => {
		const ws = await live();
		await env.DB.prepare("UPDATE workspaces SET settings = ? WHERE id = ?")
			.bind(JSON.stringify({ routing: { strategy: "domain" } }), ws.id)
			.run();
		const gmail = scriptedDriver((email) => accepted(email));
		const rest = scriptedDriver((email) => accepted(email));
		await withDriver(
			ws.id,
			"smtp",
			gmail.factory,
			() =>
				withDriver(
					ws.id,
					"cloudflare",
					rest.factory,
					async () => {
						const body = await job(ws.id, ws.domain, {
							to: [{ email: "ada@gmail.com" }, { email: "bob@x.test" }],
							cc: [{ email: "cy@googlemail.com" }],
						})();
						await runQueue("mq-send", [body], { SEND_QUEUE: new RecordingQueue() });
						expect(gmail.calls).toEqual([["ada@gmail.com", "cy@googlemail.com"]]);
						expect(rest.calls).toEqual([["bob@x.test"]]);
						expect((await messageState(body.id))?.status).toBe("sent");
					},
					{ priority: 1 },
				),
			{ priority: 5, canRoute: ["*@gmail.com", "*@googlemail.com"] },
		);
	});
});

describe("routing per queue", () => {
	it("a named queue's strategy and rules apply to its messages only", async () => {
		const ws = await live();
		await env.DB.prepare("UPDATE workspaces SET settings = ? WHERE id = ?")
			.bind(JSON.stringify({ routing: { strategy: "priority" } }), ws.id)
			.run();
		const first = scriptedDriver((email) => accepted(email));
		const second = scriptedDriver((email) => accepted(email));
		await withDriver(
			ws.id,
			"smtp",
			first.factory,
			() =>
				withDriver(
					ws.id,
					"cloudflare",
					second.factory,
					async (secondId) => {
						await env.DB.batch([
							env.DB.prepare(
								"INSERT INTO queues (id, workspace_id, name, strategy) VALUES (?, ?, 'bulk', 'failover')",
							).bind(`q_bulk_${ws.id}`, ws.id),
							env.DB.prepare("INSERT INTO queues (id, workspace_id, name) VALUES (?, ?, 'vip')").bind(
								`q_vip_${ws.id}`,
								ws.id,
							),
							env.DB.prepare("UPDATE workspaces SET settings = ? WHERE id = ?").bind(
								JSON.stringify({ routing: { strategy: "priority", failover_order: [secondId] } }),
								ws.id,
							),
							env.DB.prepare(
								"INSERT INTO routing_rules (id, workspace_id, queue_id, name, position, match, gateway_ids) VALUES (?, ?, ?, 'vip', 1, '{}', ?)",
							).bind(`rr_vip_${ws.id}`, ws.id, `q_vip_${ws.id}`, JSON.stringify([secondId])),
						]);
						const plain = await job(ws.id, ws.domain, { to: [{ email: "plain@x.test" }] })();
						const bulk = {
							...(await job(ws.id, ws.domain, { to: [{ email: "bulk@x.test" }] })()),
							queueId: `q_bulk_${ws.id}`,
						};
						const vip = {
							...(await job(ws.id, ws.domain, { to: [{ email: "vip@x.test" }] })()),
							queueId: `q_vip_${ws.id}`,
						};
						await runQueue("mq-send", [plain, bulk, vip], { SEND_QUEUE: new RecordingQueue() });
						// Workspace strategy (priority) for the plain message; the bulk queue's `failover` strategy
						// follows the workspace's failover order; the vip queue's rule pins the second gateway.
						expect(first.calls).toEqual([["plain@x.test"]]);
						expect(second.calls.flat().sort()).toEqual(["bulk@x.test", "vip@x.test"]);
					},
					{ priority: 2 },
				),
			{ priority: 1 },
		);
	});
});
