// /v1/reputation security: no key, a key without the scope, and one workspace never seeing or
// changing another's counts or settings.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hourOf } from "../../src/domain/reputation/model";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Envelope = { error: { code: string; request_id: string } };

describe("reputation security", () => {
	it("answers 401 without a key and 403 without the scope; analytics:read may read but not change", async () => {
		const sender = await createWorkspace({ scopes: ["email:send", "email:read"] });
		const reader = await createWorkspace({ scopes: ["analytics:read"] });
		for (const [method, body] of [
			["GET", undefined],
			["PATCH", { min_volume: 1 }],
		] as const) {
			const none = await request("/v1/reputation", { method, body });
			expect(none.status, method).toBe(401);
			expect((await json<Envelope>(none)).error.code).toBe("unauthorized");
			const denied = await request("/v1/reputation", { method, body, key: sender.key });
			expect(denied.status, method).toBe(403);
			expect((await json<Envelope>(denied)).error.code).toBe("forbidden");
		}
		expect((await request("/v1/reputation", { key: reader.key })).status).toBe(200);
		const change = await request("/v1/reputation", { key: reader.key, method: "PATCH", body: { min_volume: 1 } });
		expect(change.status).toBe(403);
		const admin = await createWorkspace();
		expect((await request("/v1/reputation", { key: admin.key, method: "PATCH", body: { min_volume: 1 } })).status).toBe(
			200,
		);
	});

	it("shows and changes only the caller's own workspace", async () => {
		const owner = await createWorkspace();
		const other = await createWorkspace();
		await env.DB.prepare(
			"INSERT INTO reputation_counters (workspace_id, hour, sent, bounced, complained) VALUES (?, ?, 500, 50, 5)",
		)
			.bind(owner.id, hourOf(Date.now()))
			.run();
		await request("/v1/reputation", { key: other.key, method: "PATCH", body: { throttle_per_minute: 1 } });
		const mine = await json<{ windows: { "24h": { sent: number } }; settings: { throttle_per_minute: number } }>(
			await request("/v1/reputation", { key: owner.key }),
		);
		expect(mine.windows["24h"].sent).toBe(500);
		expect(mine.settings.throttle_per_minute).toBe(10);
		const theirs = await json<{ windows: { "24h": { sent: number } } }>(
			await request("/v1/reputation", { key: other.key }),
		);
		expect(theirs.windows["24h"].sent).toBe(0);
	});
});
