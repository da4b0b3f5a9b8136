// /v1/gateways operations security: no key, a key without `admin`, and another workspace's gateways
// (never listed, never reset).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { breakerFor } from "../../src/domain/routing/breaker-client";
import { DEFAULT_BREAKER } from "../../src/domain/routing/breaker-types";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const routes = [
	["GET", "/v1/gateways/status"],
	["GET", "/v1/gateways/health"],
	["GET", "/v1/gateways/metrics"],
	["POST", "/v1/gateways/gw_x/reset"],
] as const;

describe("gateway operations security", () => {
	it("answers 401 without a key and 403 without the admin scope", async () => {
		const ws = await createWorkspace({ scopes: ["email:send", "email:read"] });
		for (const [method, path] of routes) {
			expect((await request(path, { method })).status, `${method} ${path}`).toBe(401);
			expect((await request(path, { method, key: ws.key })).status, `${method} ${path}`).toBe(403);
		}
	});

	it("never shows or resets another workspace's gateway", async () => {
		const a = await createWorkspace();
		const b = await createWorkspace();
		const created = await json<{ id: string }>(
			await request("/v1/gateways", {
				key: a.key,
				body: {
					name: "mg",
					type: "mailgun",
					config: { domain: "mg.example.com" },
					credentials: { api_key: "key-0123456789" },
				},
			}),
		);
		const breaker = breakerFor(env.GATEWAY_BREAKER, created.id, DEFAULT_BREAKER);
		await breaker.report({ admitted: 0, successes: 0, failures: 5, latenciesMs: [] });

		const reset = await request(`/v1/gateways/${created.id}/reset`, { key: b.key, method: "POST" });
		expect(reset.status).toBe(404);
		expect((await json<{ error: { code: string } }>(reset)).error.code).toBe("not_found");
		// Still open: b's attempt changed nothing, and a's own reset works.
		expect((await breaker.snapshot())?.state).toBe("open");
		for (const [, path] of routes.slice(0, 3)) {
			const listed = await json<{ data: { id: string }[] }>(await request(path, { key: b.key }));
			expect(
				listed.data.map((g) => g.id),
				path,
			).not.toContain(created.id);
			const own = await json<{ data: { id: string }[] }>(await request(path, { key: a.key }));
			expect(
				own.data.map((g) => g.id),
				path,
			).toContain(created.id);
		}
		expect((await request(`/v1/gateways/${created.id}/reset`, { key: a.key, method: "POST" })).status).toBe(200);
		expect((await breaker.snapshot())?.state).toBe("closed");
	});
});
