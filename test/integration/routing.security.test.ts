// /v1/routing and /v1/routing-rules security: no key, a key without `admin`, another workspace's rule.
import { describe, expect, it } from "vitest";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Envelope = { error: { code: string; request_id: string } };

describe("routing security", () => {
	it("answers 401 without a key and 403 without the admin scope, and changes nothing", async () => {
		const ws = await createWorkspace({ scopes: ["email:send", "email:read"] });
		const calls: [string, string, unknown][] = [
			["GET", "/v1/routing", undefined],
			["PUT", "/v1/routing", { mode: "legacy", strategy: "priority" }],
			["GET", "/v1/routing-rules", undefined],
			["POST", "/v1/routing-rules", { name: "x", match: {}, strategy: "priority" }],
			["GET", "/v1/routing-rules/rr_x", undefined],
			["PATCH", "/v1/routing-rules/rr_x", { position: 1 }],
			["DELETE", "/v1/routing-rules/rr_x", undefined],
		];
		for (const [method, path, body] of calls) {
			const none = await request(path, { method, body });
			expect(none.status, `${method} ${path}`).toBe(401);
			expect((await json<Envelope>(none)).error.code).toBe("unauthorized");
			const denied = await request(path, { method, body, key: ws.key });
			expect(denied.status, `${method} ${path}`).toBe(403);
			expect((await json<Envelope>(denied)).error.code).toBe("forbidden");
		}
		const admin = await createWorkspace();
		expect((await json(await request("/v1/routing", { key: admin.key }))).mode).toBe("gateway");
	});

	it("answers 404 for another workspace's rule and leaves it as it was", async () => {
		const owner = await createWorkspace();
		const intruder = await createWorkspace();
		const created = await request("/v1/routing-rules", {
			key: owner.key,
			body: { name: "mine", match: { tag: "t" }, strategy: "round_robin" },
		});
		const rule = await json<{ id: string }>(created);
		for (const [method, body] of [
			["GET", undefined],
			["PATCH", { position: 1 }],
			["DELETE", undefined],
		] as const) {
			const res = await request(`/v1/routing-rules/${rule.id}`, { method, body, key: intruder.key });
			expect(res.status, method).toBe(404);
			expect((await json<Envelope>(res)).error.code).toBe("not_found");
		}
		expect((await json<{ data: unknown[] }>(await request("/v1/routing-rules", { key: intruder.key }))).data).toEqual(
			[],
		);
		const still = await json<{ position: number }>(await request(`/v1/routing-rules/${rule.id}`, { key: owner.key }));
		expect(still.position).toBe(100);
		// The intruder's PUT /v1/routing changes only its own workspace.
		await request("/v1/routing", { key: intruder.key, method: "PUT", body: { mode: "legacy", strategy: "weighted" } });
		expect(await json(await request("/v1/routing", { key: owner.key }))).toMatchObject({ mode: "gateway" });
	});
});
