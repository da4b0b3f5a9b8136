// /v1/domains security: no key, a key without `admin`, another workspace's domain, for every
// domain route; and the platform override seam mounted with a platform guard (the tenancy issue
// supplies the real one), which a workspace key cannot pass.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { OpenAPIHono } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/errors";
import type { AppEnv } from "../../src/http/context";
import { onError, validationHook } from "../../src/http/middleware/errors";
import { jsonBody, limitBody } from "../../src/http/middleware/json-body";
import { requestContext } from "../../src/http/middleware/request-id";
import { registerPlatformDomainRoutes } from "../../src/http/routes/platform-domains";
import { type Domain, dohEnv, publishTxt, uniqueDomain } from "../helpers/doh";
import { json, RecordingQueue, request, sampleEmail, testEnv } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const routes = (id: string): [string, string, unknown][] => [
	["GET", "/v1/domains", undefined],
	["POST", "/v1/domains", { name: uniqueDomain() }],
	["GET", `/v1/domains/${id}`, undefined],
	["PATCH", `/v1/domains/${id}`, { include_subdomains: true }],
	["POST", `/v1/domains/${id}/verify`, undefined],
	["DELETE", `/v1/domains/${id}`, undefined],
];

describe("domains security", () => {
	it("answers 401 without a key and 403 without the admin scope, and changes nothing", async () => {
		const owner = await createWorkspace();
		const name = uniqueDomain();
		const domain = await json<Domain>(await request("/v1/domains", { key: owner.key, body: { name } }));
		await publishTxt(`_mailqueue.${name}`, domain.records[0]?.value ?? "");
		const sender = await createWorkspace({ scopes: ["email:send", "email:read"] });
		for (const [method, path, body] of routes(domain.id)) {
			const none = await request(path, { method, body, env: dohEnv() });
			expect(none.status, `${method} ${path}`).toBe(401);
			expect((await json<{ error: { code: string } }>(none)).error.code).toBe("unauthorized");
			const weak = await request(path, { method, body, key: sender.key, env: dohEnv() });
			expect(weak.status, `${method} ${path}`).toBe(403);
		}
		// Nobody verified or changed it: the TXT is published, only an admin's verify would see it.
		const after = await json<Domain>(await request(`/v1/domains/${domain.id}`, { key: owner.key }));
		expect(after).toMatchObject({ status: "pending", include_subdomains: false, last_checked_at: null });
		expect(
			(
				await request(`/v1/domains/${domain.id}/verify`, { key: owner.key, method: "POST", env: dohEnv() }).then((r) =>
					json<Domain>(r),
				)
			).status,
		).toBe("verified");
	});

	it("answers 404 for another workspace's domain, and never verifies it for them", async () => {
		const owner = await createWorkspace();
		const other = await createWorkspace();
		const name = uniqueDomain();
		const domain = await json<Domain>(await request("/v1/domains", { key: owner.key, body: { name } }));
		await publishTxt(`_mailqueue.${name}`, domain.records[0]?.value ?? "");
		for (const [method, path, body] of routes(domain.id).filter(([, p]) => p.includes(domain.id))) {
			expect((await request(path, { method, body, key: other.key, env: dohEnv() })).status, `${method} ${path}`).toBe(
				404,
			);
		}
		expect((await json<Domain>(await request(`/v1/domains/${domain.id}`, { key: owner.key }))).status).toBe("pending");

		// The other workspace adds the same name: the owner's published token does not verify it.
		const theirs = await json<Domain>(await request("/v1/domains", { key: other.key, body: { name } }));
		const checked = await json<Domain>(
			await request(`/v1/domains/${theirs.id}/verify`, { key: other.key, method: "POST", env: dohEnv() }),
		);
		expect(checked.status).toBe("pending");
		expect(checked.records[0]).toMatchObject({ status: "wrong", found: [domain.records[0]?.value] });
	});
});

// A stand-in for the tenancy issue's platform guard: the bearer token must equal PLATFORM_TOKEN.
const PLATFORM_TOKEN = "mq_platform_test_token_0123456789abcdef";
const platformGuard = createMiddleware<AppEnv>(async (c, next) => {
	const token = c.req.header("authorization")?.match(/^Bearer\s+(\S+)$/)?.[1];
	if (!token) throw new ApiError("unauthorized", "Missing platform token.");
	if (token !== PLATFORM_TOKEN) throw new ApiError("forbidden", "Not a platform token.");
	await next();
});

function platformApp() {
	const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
	app.use("*", requestContext);
	registerPlatformDomainRoutes(app, [platformGuard, limitBody, jsonBody]);
	app.onError(onError);
	return app;
}

async function platform(path: string, body: unknown, token?: string, extra: Record<string, string> = {}) {
	const ctx = createExecutionContext();
	const res = await platformApp().fetch(
		new Request(`https://relay.test${path}`, {
			method: "PATCH",
			headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
			body: JSON.stringify(body),
		}),
		testEnv(extra as never),
		ctx,
	);
	await waitOnExecutionContext(ctx);
	return res;
}

describe("PATCH /v1/platform/workspaces/{id}/domains/{name} (operator override)", () => {
	it("vouches for a domain with the platform token; a workspace key gets 403 and none 401", async () => {
		const ws = await createWorkspace();
		const name = uniqueDomain("vouched");
		const path = `/v1/platform/workspaces/${ws.id}/domains/${name}`;
		const queue = new RecordingQueue();
		const send = () => request("/v1/emails", { key: ws.key, body: sampleEmail(name), env: { SEND_QUEUE: queue } });
		expect((await send()).status).toBe(422);

		expect((await platform(path, { verified: true })).status).toBe(401);
		expect((await platform(path, { verified: true }, ws.key)).status).toBe(403);
		expect((await send()).status).toBe(422);

		const res = await platform(path, { verified: true }, PLATFORM_TOKEN);
		expect(res.status).toBe(200);
		expect(await json<Domain>(res)).toMatchObject({
			name,
			status: "verified",
			verified_by: "platform",
			next_check_at: null,
		});
		expect((await send()).status).toBe(202);
		const event = await env.DB.prepare("SELECT data FROM events WHERE workspace_id = ? AND type = 'domain_verified'")
			.bind(ws.id)
			.first<{ data: string }>();
		expect(JSON.parse(event?.data ?? "{}")).toMatchObject({ domain: name, by: "platform" });

		// A DNS check of a vouched domain informs but does not undo the operator's word.
		const list = await json<{ data: Domain[] }>(await request("/v1/domains", { key: ws.key }));
		const id = list.data.find((d) => d.name === name)?.id;
		const checked = await json<Domain>(
			await request(`/v1/domains/${id}/verify`, { key: ws.key, method: "POST", env: dohEnv() }),
		);
		expect(checked).toMatchObject({ status: "verified", verified_by: "platform" });
		expect(checked.records[0]?.status).toBe("missing");

		// Withdrawn: pending again, DNS decides, and mail stops at once.
		expect(await json<Domain>(await platform(path, { verified: false }, PLATFORM_TOKEN))).toMatchObject({
			status: "pending",
			verified_by: null,
		});
		expect((await send()).status).toBe(422);
	});

	it("answers 404 for an unknown workspace and 422 for a bad body or a reserved name outside development", async () => {
		expect(
			(await platform(`/v1/platform/workspaces/ws_nope/domains/${uniqueDomain()}`, { verified: true }, PLATFORM_TOKEN))
				.status,
		).toBe(404);
		const ws = await createWorkspace();
		expect(
			(
				await platform(
					`/v1/platform/workspaces/${ws.id}/domains/${uniqueDomain()}`,
					{ verified: "yes" },
					PLATFORM_TOKEN,
				)
			).status,
		).toBe(422);
		expect(
			(await platform(`/v1/platform/workspaces/${ws.id}/domains/shop.test`, { verified: true }, PLATFORM_TOKEN)).status,
		).toBe(422);
		expect(
			(
				await platform(`/v1/platform/workspaces/${ws.id}/domains/shop.test`, { verified: true }, PLATFORM_TOKEN, {
					ENVIRONMENT: "development",
				})
			).status,
		).toBe(200);
	});
});
