// /v1/routing, /v1/routing-rules and the gateways' routing fields: what is stored is what the
// consumer's router reads, so a rule or a mode configured through the API decides real deliveries.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { accepted, countingDriver, job, messageState, scriptedDriver, withDriver } from "../helpers/delivery";
import { json, RecordingQueue, request, runQueue } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Envelope = { error: { code: string; message: string; details?: { path: string }[] } };
type Gw = {
	id: string;
	can_route: string[];
	exclude_patterns: string[];
	failover_to: string[];
	legacy: boolean;
	config: Record<string, unknown>;
};
type Rule = {
	id: string;
	position: number;
	match: Record<string, unknown>;
	strategy: string | null;
	gateway_ids: string[];
};

const sandbox = (name: string, extra: Record<string, unknown> = {}) => ({ name, type: "sandbox", ...extra });

async function gateway(key: string, name: string, extra: Record<string, unknown> = {}): Promise<Gw> {
	const res = await request("/v1/gateways", { key, body: sandbox(name, extra) });
	expect(res.status).toBe(201);
	return json<Gw>(res);
}

describe("PUT/GET /v1/routing", () => {
	it("stores the mode and strategy, merging into the workspace's other settings", async () => {
		const ws = await createWorkspace();
		await env.DB.prepare("UPDATE workspaces SET settings = ? WHERE id = ?")
			.bind(JSON.stringify({ keep: { me: 1 } }), ws.id)
			.run();
		expect(await json(await request("/v1/routing", { key: ws.key }))).toEqual({
			mode: "gateway",
			strategy: "priority",
			failover_order: [],
		});
		const a = await gateway(ws.key, "a");
		const b = await gateway(ws.key, "b");
		const body = { mode: "hybrid", strategy: "failover", failover_order: [b.id, a.id] };
		const res = await request("/v1/routing", { key: ws.key, method: "PUT", body });
		expect(res.status).toBe(200);
		expect(await json(res)).toEqual(body);
		expect(await json(await request("/v1/routing", { key: ws.key }))).toEqual(body);
		const row = await env.DB.prepare("SELECT routing_mode, settings FROM workspaces WHERE id = ?")
			.bind(ws.id)
			.first<{ routing_mode: string; settings: string }>();
		expect(row?.routing_mode).toBe("hybrid");
		expect(JSON.parse(row?.settings ?? "{}")).toEqual({
			keep: { me: 1 },
			routing: { strategy: "failover", failover_order: [b.id, a.id] },
		});
	});

	it("refuses an unknown mode or strategy, and a gateway of another workspace, with a 422", async () => {
		const ws = await createWorkspace();
		const other = await createWorkspace();
		const foreign = await gateway(other.key, "theirs");
		for (const body of [
			{ mode: "magic", strategy: "priority" },
			{ mode: "gateway", strategy: "cheapest" },
			{ mode: "gateway", strategy: "priority", extra: 1 },
		]) {
			const res = await request("/v1/routing", { key: ws.key, method: "PUT", body });
			expect(res.status).toBe(422);
			expect((await json<Envelope>(res)).error.code).toBe("validation_error");
		}
		const res = await request("/v1/routing", {
			key: ws.key,
			method: "PUT",
			body: { mode: "gateway", strategy: "failover", failover_order: [foreign.id] },
		});
		expect(res.status).toBe(422);
		expect((await json<Envelope>(res)).error.message).toContain(foreign.id);
		expect((await json(await request("/v1/routing", { key: ws.key }))).strategy).toBe("priority");
	});
});

describe("/v1/routing-rules", () => {
	it("creates, lists in position order, reads, patches and deletes rules; match is stored as the router reads it", async () => {
		const ws = await createWorkspace();
		const gw = await gateway(ws.key, "gmail");
		const created = await request("/v1/routing-rules", {
			key: ws.key,
			body: {
				name: "gmail",
				position: 20,
				match: { recipient_domain: "gmail.com", header: { name: "X-Campaign", value: "spring" } },
				gateway_ids: [gw.id],
			},
		});
		expect(created.status).toBe(201);
		const rule = await json<Rule>(created);
		expect(rule).toMatchObject({
			position: 20,
			match: {
				recipient_domain: "gmail.com",
				sender_domain: null,
				tag: null,
				header: { name: "X-Campaign", value: "spring" },
			},
			strategy: null,
			gateway_ids: [gw.id],
		});
		const stored = await env.DB.prepare("SELECT match FROM routing_rules WHERE id = ?")
			.bind(rule.id)
			.first<{ match: string }>();
		expect(JSON.parse(stored?.match ?? "{}")).toEqual({
			recipientDomain: "gmail.com",
			header: { name: "X-Campaign", value: "spring" },
		});
		const first = await json<Rule>(
			await request("/v1/routing-rules", {
				key: ws.key,
				body: { name: "tagged", position: 5, match: { tag: "x" }, strategy: "round_robin" },
			}),
		);
		const list = await json<{ data: Rule[] }>(await request("/v1/routing-rules", { key: ws.key }));
		expect(list.data.map((r) => r.id)).toEqual([first.id, rule.id]);
		expect((await request(`/v1/routing-rules/${rule.id}`, { key: ws.key })).status).toBe(200);

		const patched = await request(`/v1/routing-rules/${rule.id}`, {
			key: ws.key,
			method: "PATCH",
			body: { position: 1, strategy: "weighted" },
		});
		expect(patched.status).toBe(200);
		expect(await json(patched)).toMatchObject({ position: 1, strategy: "weighted", gateway_ids: [gw.id] });
		// Removing the strategy and the gateways leaves a rule that pins nothing: refused.
		const empty = await request(`/v1/routing-rules/${rule.id}`, {
			key: ws.key,
			method: "PATCH",
			body: { strategy: null, gateway_ids: [] },
		});
		expect(empty.status).toBe(422);
		const del = await request(`/v1/routing-rules/${rule.id}`, { key: ws.key, method: "DELETE" });
		expect(await json(del)).toEqual({ id: rule.id, deleted: true });
		expect((await request(`/v1/routing-rules/${rule.id}`, { key: ws.key })).status).toBe(404);
	});

	it("refuses bad patterns, a rule that pins nothing, and a gateway of another workspace or a missing one (422 naming it)", async () => {
		const ws = await createWorkspace();
		const other = await createWorkspace();
		const foreign = await gateway(other.key, "theirs");
		const own = await gateway(ws.key, "mine");
		const post = (body: unknown) => request("/v1/routing-rules", { key: ws.key, body });
		for (const body of [
			{ name: "x", match: { recipient_domain: "gmail com" }, strategy: "priority" },
			{ name: "x", match: { sender_domain: "<script>" }, strategy: "priority" },
			{ name: "x", match: { unknown: 1 }, strategy: "priority" },
			{ name: "x", match: {}, strategy: "cheapest" },
			{ name: "x", match: {} },
			{ name: "x", match: {}, gateway_ids: [own.id, own.id] },
		]) {
			const res = await post(body);
			expect(res.status, JSON.stringify(body)).toBe(422);
			expect((await json<Envelope>(res)).error.code).toBe("validation_error");
		}
		for (const id of [foreign.id, "gw_missing"]) {
			const res = await post({ name: "x", match: {}, gateway_ids: [own.id, id] });
			expect(res.status).toBe(422);
			const error = (await json<Envelope>(res)).error;
			expect(error.message).toContain(id);
			expect(error.details?.[0]?.path).toBe("gateway_ids.1");
		}
		expect((await json<{ data: Rule[] }>(await request("/v1/routing-rules", { key: ws.key }))).data).toEqual([]);
	});
});

describe("gateway routing fields", () => {
	it("stores can_route, exclude_patterns, failover_to and legacy, shows them, and keeps one legacy gateway", async () => {
		const ws = await createWorkspace({ gateway: false });
		const backup = await gateway(ws.key, "backup", { legacy: true });
		const main = await gateway(ws.key, "main", {
			can_route: ["*@gmail.com", "*@googlemail.com"],
			exclude_patterns: ["vip@gmail.com"],
			failover_to: [backup.id],
			legacy: true,
		});
		expect(main).toMatchObject({
			can_route: ["*@gmail.com", "*@googlemail.com"],
			exclude_patterns: ["vip@gmail.com"],
			failover_to: [backup.id],
			legacy: true,
			config: { failover_to: [backup.id] },
		});
		expect((await json<Gw>(await request(`/v1/gateways/${backup.id}`, { key: ws.key }))).legacy).toBe(false);
		const patched = await json<Gw>(
			await request(`/v1/gateways/${main.id}`, {
				key: ws.key,
				method: "PATCH",
				body: { failover_to: [], legacy: false },
			}),
		);
		expect(patched).toMatchObject({ failover_to: [], legacy: false, can_route: ["*@gmail.com", "*@googlemail.com"] });
		expect(patched.config).toEqual({});

		for (const body of [
			{ failover_to: [main.id] },
			{ failover_to: ["gw_elsewhere"] },
			{ can_route: ["not a pattern"] },
		]) {
			const res = await request(`/v1/gateways/${main.id}`, { key: ws.key, method: "PATCH", body });
			expect(res.status, JSON.stringify(body)).toBe(422);
		}
	});

	it("a rule and legacy mode configured through the API decide real deliveries", async () => {
		const ws = await createWorkspace({ mode: "live", gateway: false });
		const pinned = countingDriver();
		const fallback = scriptedDriver(accepted);
		await withDriver(
			ws.id,
			"cloudflare",
			pinned.factory,
			(pinnedId) =>
				withDriver(
					ws.id,
					"resend",
					fallback.factory,
					async () => {
						// Without a rule the resend gateway (priority 0) wins for everyone.
						const before = await job(ws.id, ws.domain, { to: [{ email: "a@gmail.com" }] })();
						await runQueue("mq-send", [before], { SEND_QUEUE: new RecordingQueue() });
						expect(fallback.calls).toEqual([["a@gmail.com"]]);
						const rule = await request("/v1/routing-rules", {
							key: ws.key,
							body: { name: "gmail", match: { recipient_domain: "gmail.com" }, gateway_ids: [pinnedId] },
						});
						expect(rule.status).toBe(201);
						const gmail = await job(ws.id, ws.domain, { to: [{ email: "b@gmail.com" }] })();
						const other = await job(ws.id, ws.domain, { to: [{ email: "c@other.test" }] })();
						await runQueue("mq-send", [gmail, other], { SEND_QUEUE: new RecordingQueue() });
						expect(pinned.sends).toEqual([["b@gmail.com"]]);
						expect(fallback.calls).toEqual([["a@gmail.com"], ["c@other.test"]]);

						// Legacy mode sends through the legacy gateway only, whatever the rules say.
						await request(`/v1/gateways/${pinnedId}`, { key: ws.key, method: "PATCH", body: { legacy: true } });
						await request("/v1/routing", {
							key: ws.key,
							method: "PUT",
							body: { mode: "legacy", strategy: "priority" },
						});
						const legacy = await job(ws.id, ws.domain, { to: [{ email: "d@other.test" }] })();
						await runQueue("mq-send", [legacy], { SEND_QUEUE: new RecordingQueue() });
						expect(pinned.sends).toEqual([["b@gmail.com"], ["d@other.test"]]);
						expect((await messageState(legacy.id))?.status).toBe("sent");
						expect(fallback.calls).toHaveLength(2);
					},
					{ priority: 0 },
				),
			{ priority: 50 },
		);
	});
});
