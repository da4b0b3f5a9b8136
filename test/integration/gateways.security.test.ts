// /v1/gateways security: no key, a key without `admin`, another workspace's gateway, and no
// credential ever in a response, an error or a test result.
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const SECRETS = {
	mailgun: "key-0123456789abcdef0123456789abf00d",
	sendgrid: "SG.abcdefghijklmnopqrstuv.wxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabc",
	postmark: "f00dcafe-1234-4bcd-9876-0123456789ab",
	resend: "re_123456789_AbCdEfGhIjKlMnOpQrStUvWx",
	sesKey: "AKIAIOSFODNN7EXAMPLE",
	sesSecret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	smtp: "correct horse battery staple",
	cloudflare: "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY",
};

const gateways = [
	{ name: "mg", type: "mailgun", config: { domain: "mg.example.com" }, credentials: { api_key: SECRETS.mailgun } },
	{ name: "sg", type: "sendgrid", config: {}, credentials: { api_key: SECRETS.sendgrid } },
	{ name: "pm", type: "postmark", config: {}, credentials: { server_token: SECRETS.postmark } },
	{ name: "rs", type: "resend", config: {}, credentials: { api_key: SECRETS.resend } },
	{
		name: "ses",
		type: "ses",
		config: { region: "us-east-1" },
		credentials: { access_key_id: SECRETS.sesKey, secret_access_key: SECRETS.sesSecret },
	},
	{
		name: "cf",
		type: "cloudflare",
		config: { mode: "rest", account_id: "023e105f4ecef8ad9ca31a8372d0c353" },
		credentials: { api_token: SECRETS.cloudflare },
	},
	{
		name: "smtp",
		type: "smtp",
		// Nothing listens on port 9 (discard); the check fails with a connection error.
		config: { host: "127.0.0.1", port: 9, security: "none" },
		credentials: { username: "relay", password: SECRETS.smtp },
	},
];

afterEach(() => vi.restoreAllMocks());

function expectNoSecret(text: string) {
	for (const secret of Object.values(SECRETS)) {
		expect(text).not.toContain(secret);
		expect(text).not.toContain(btoa(`api:${secret}`));
	}
}

describe("gateways security", () => {
	it("answers 401 without a key and 403 without the admin scope", async () => {
		const ws = await createWorkspace({ scopes: ["email:send", "email:read"] });
		for (const [method, path] of [
			["GET", "/v1/gateways"],
			["POST", "/v1/gateways"],
			["GET", "/v1/gateways/gw_x"],
			["PATCH", "/v1/gateways/gw_x"],
			["DELETE", "/v1/gateways/gw_x"],
			["POST", "/v1/gateways/gw_x/test"],
		] as const) {
			const body = method === "POST" || method === "PATCH" ? gateways[0] : undefined;
			expect((await request(path, { method, body })).status, `${method} ${path}`).toBe(401);
			expect((await request(path, { method, body, key: ws.key })).status, `${method} ${path}`).toBe(403);
		}
	});

	it("answers 404 for another workspace's gateway on every route", async () => {
		const a = await createWorkspace();
		const b = await createWorkspace();
		const created = await json<{ id: string }>(await request("/v1/gateways", { key: a.key, body: gateways[0] }));
		expect((await request(`/v1/gateways/${created.id}`, { key: b.key })).status).toBe(404);
		expect(
			(await request(`/v1/gateways/${created.id}`, { key: b.key, method: "PATCH", body: { enabled: false } })).status,
		).toBe(404);
		expect((await request(`/v1/gateways/${created.id}/test`, { key: b.key, method: "POST" })).status).toBe(404);
		expect((await request(`/v1/gateways/${created.id}`, { key: b.key, method: "DELETE" })).status).toBe(404);
		expect((await request(`/v1/gateways/${created.id}`, { key: a.key })).status).toBe(200);
		const list = await json<{ data: { id: string }[] }>(await request("/v1/gateways", { key: b.key }));
		expect(list.data.map((g) => g.id)).not.toContain(created.id);
	});

	it("never shows a credential in any response, error or test result", async () => {
		const ws = await createWorkspace();
		const logged: string[] = [];
		for (const level of ["log", "info", "warn", "error", "debug"] as const) {
			vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
				logged.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
			});
		}
		// Every provider answers with an error that echoes the request's auth back, as some do.
		vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
			const req = new Request(input, init);
			const echoed = `${req.headers.get("authorization") ?? ""} ${req.headers.get("x-postmark-server-token") ?? ""}`;
			return new Response(JSON.stringify({ message: `bad credentials: ${echoed}`, errors: [{ message: echoed }] }), {
				status: 401,
			});
		});
		const texts: string[] = [];
		for (const gateway of gateways) {
			const res = await request("/v1/gateways", { key: ws.key, body: gateway });
			expect(res.status, gateway.type).toBe(201);
			const created = await json<{ id: string }>(res.clone());
			texts.push(await res.text());
			texts.push(await (await request(`/v1/gateways/${created.id}`, { key: ws.key })).text());
			const test = await request(`/v1/gateways/${created.id}/test`, { key: ws.key, method: "POST" });
			const outcome = await json<{ ok: boolean; detail: string }>(test.clone());
			expect(outcome.ok, `${gateway.type}: ${outcome.detail}`).toBe(false);
			texts.push(await test.text());
			const sent = await request(`/v1/gateways/${created.id}/test`, { key: ws.key, body: { to: "ops@example.org" } });
			texts.push(await sent.text());
			// A bad PATCH echoes nothing it was given either.
			const badPatch = await request(`/v1/gateways/${created.id}`, {
				key: ws.key,
				method: "PATCH",
				body: { credentials: { nope: SECRETS.mailgun } },
			});
			expect(badPatch.status).toBe(422);
			texts.push(await badPatch.text());
		}
		texts.push(await (await request("/v1/gateways", { key: ws.key })).text());
		const duplicate = await request("/v1/gateways", { key: ws.key, body: gateways[0] });
		texts.push(await duplicate.text());
		for (const text of [...texts, ...logged]) expectNoSecret(text);
	});
});
