// Who may call what: every /v1/platform/* route takes only the PLATFORM_TOKEN (none: 401, a wrong
// one: 401, a workspace key of any scope: 403, a deployment without a good token: 503), and the
// platform token opens no workspace route. Routes are enumerated from the app, so a route added
// later is covered without editing this file.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import { createViaPlatform, PLATFORM_TOKEN, platform, uniqueSlug } from "../helpers/platform";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Envelope = { error: { code: string; message: string; request_id: string } };

// app.routes lists each middleware of a route as well: one entry per method and path.
const routes = [
	...new Set(
		app.routes
			.filter((r) => r.method !== "ALL" && !["/openapi.json", "/docs"].includes(r.path))
			.map((r) => `${r.method} ${r.path}`),
	),
].map((r) => {
	const [method = "", path = ""] = r.split(" ");
	return { method, path };
});
const platformRoutes = routes.filter((r) => r.path.startsWith("/v1/platform/"));
// Every route that authenticates a workspace key: all of /v1 outside the platform, and /metrics.
// The SMTP bridge's relay route is authorized by the bridge's own secret, not by a key.
const workspaceRoutes = routes.filter(
	(r) =>
		(r.path.startsWith("/v1/") &&
			!r.path.startsWith("/v1/platform/") &&
			// The bridge's own routes (bridge secret) and signed download links take no workspace key.
			r.path !== "/v1/smtp/relay" &&
			!r.path.startsWith("/v1/smtp/inbound") &&
			!r.path.startsWith("/v1/inbound/attachments/") &&
			// Authenticated by the provider's signature, not by any key (docs/provider-webhooks.md).
			!r.path.startsWith("/v1/providers/")) ||
		r.path === "/metrics",
);

/** The address the platform suppression routes add, read and remove (POST runs before GET and DELETE). */
const SUPPRESSED = "platform-guard@mailqueue-tests.net";

function bodyFor(route: { method: string; path: string }) {
	if (route.path.endsWith("/domains/:name")) return { verified: true };
	if (route.path === "/v1/platform/suppressions" && route.method === "POST") {
		return { email: SUPPRESSED, reason: "manual" };
	}
	if (route.path.endsWith("/rate-limits")) return route.method === "PUT" ? { limits: [] } : undefined;
	if (route.method === "PATCH") return { name: "Renamed" };
	if (route.method !== "POST") return undefined;
	return route.path.endsWith("/api-keys") ? {} : { slug: uniqueSlug("sec") };
}

async function call(
	route: { method: string; path: string },
	workspaceRef: string,
	options: Parameters<typeof platform>[1],
) {
	return platform(
		route.path.replace(":id", workspaceRef).replace(":name", "mail.mailqueue-tests.net").replace(":email", SUPPRESSED),
		{
			method: route.method,
			body: bodyFor(route),
			...options,
		},
	);
}

async function expectError(res: Response, status: number, code: string) {
	expect(res.status).toBe(status);
	const body = await json<Envelope>(res);
	expect(body.error.code).toBe(code);
	expect(body.error.request_id).toBeTruthy();
	return body.error.message;
}

describe("the platform API's guard", () => {
	it("covers the platform routes", () => {
		expect(platformRoutes.map((r) => `${r.method} ${r.path}`).sort()).toEqual([
			"DELETE /v1/platform/suppressions/:email",
			"DELETE /v1/platform/workspaces/:id",
			"GET /v1/platform/rate-limits",
			"GET /v1/platform/suppressions",
			"GET /v1/platform/suppressions/:email",
			"GET /v1/platform/workspaces",
			"GET /v1/platform/workspaces/:id",
			"PATCH /v1/platform/workspaces/:id",
			"PATCH /v1/platform/workspaces/:id/domains/:name",
			"POST /v1/platform/suppressions",
			"POST /v1/platform/workspaces",
			"POST /v1/platform/workspaces/:id/api-keys",
			"PUT /v1/platform/rate-limits",
		]);
	});

	it("admits the platform token on every platform route", async () => {
		const { workspace } = await createViaPlatform();
		// DELETE last: a workspace being deleted refuses further changes.
		const ordered = [...platformRoutes].sort((a, b) => Number(a.method === "DELETE") - Number(b.method === "DELETE"));
		for (const route of ordered) {
			const res = await call(route, workspace.id, {});
			expect([200, 201, 202, 204], `${route.method} ${route.path}`).toContain(res.status);
		}
	});

	it("answers 401 without a token, with a wrong one, or with a malformed header, and changes nothing", async () => {
		const { workspace } = await createViaPlatform();
		for (const route of platformRoutes) {
			const label = `${route.method} ${route.path}`;
			expect(
				await expectError(await call(route, workspace.id, { key: undefined }), 401, "unauthorized"),
				label,
			).toMatch(/Missing platform token/);
			const wrong = `${PLATFORM_TOKEN.slice(0, -1)}x`;
			expect(await expectError(await call(route, workspace.id, { key: wrong }), 401, "unauthorized"), label).toMatch(
				/invalid/,
			);
			await expectError(
				await call(route, workspace.id, { key: undefined, headers: { authorization: `Basic ${PLATFORM_TOKEN}` } }),
				401,
				"unauthorized",
			);
		}
		const still = await json<{ status: string }>(await platform(`/v1/platform/workspaces/${workspace.id}`));
		expect(still.status).toBe("active");
	});

	it("answers 403 to workspace keys, admin scope, live or test, of any workspace", async () => {
		const { workspace, api_key } = await createViaPlatform();
		const other = await createWorkspace({ mode: "test", scopes: ["admin"] });
		for (const key of [api_key.key, other.key]) {
			for (const route of platformRoutes) {
				const message = await expectError(await call(route, workspace.id, { key }), 403, "forbidden");
				expect(message).toMatch(/Workspace API keys cannot call the platform API/);
			}
		}
		const { results } = await env.DB.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE workspace_id = ?")
			.bind(workspace.id)
			.all<{ n: number }>();
		expect(results[0]?.n).toBe(1);
	});

	it("answers 503 platform_not_configured when the deployment has no token or a malformed one", async () => {
		for (const configured of [undefined, "", "mq_platform_short", "not-a-platform-token-at-all-0123456789abcdef"]) {
			for (const route of platformRoutes) {
				const res = await call(route, "ws_x", { env: { PLATFORM_TOKEN: configured } });
				const message = await expectError(res, 503, "platform_not_configured");
				expect(message).toMatch(configured ? /malformed/ : /no PLATFORM_TOKEN/);
			}
		}
		// The rest of the relay keeps working without it.
		const ws = await createWorkspace();
		expect((await request("/v1/workspace", { key: ws.key, env: { PLATFORM_TOKEN: undefined } })).status).toBe(200);
	});

	it("authenticates before reading the body: no token and an oversized body is a 401, not a 413", async () => {
		const res = await platform("/v1/platform/workspaces", {
			key: undefined,
			rawBody: "x".repeat(2048),
			headers: { "content-type": "application/json" },
			env: { MAX_BODY_BYTES: "1024" } as never,
		});
		await expectError(res, 401, "unauthorized");
		// With the token the same body is read, and refused for its size.
		const admitted = await platform("/v1/platform/workspaces", {
			rawBody: "x".repeat(2048),
			headers: { "content-type": "application/json" },
			env: { MAX_BODY_BYTES: "1024" } as never,
		});
		await expectError(admitted, 413, "payload_too_large");
	});
});

describe("the platform token on workspace routes", () => {
	it("opens none of them: 403 on every /v1 workspace route and /metrics", async () => {
		expect(workspaceRoutes.length).toBeGreaterThan(15);
		const ws = await createWorkspace();
		for (const route of workspaceRoutes) {
			const res = await platform(route.path.replace(/:(\w+)/g, "x"), {
				method: route.method,
				body: route.method === "POST" || route.method === "PATCH" ? {} : undefined,
			});
			const message = await expectError(res, 403, "forbidden");
			expect(message, `${route.method} ${route.path}`).toMatch(/only works on \/v1\/platform/);
		}
		// The same routes do answer a workspace key, so the 403 is the token's, not the route's.
		expect((await request("/v1/workspace", { key: ws.key })).status).toBe(200);
	});
});
