// /v1/gateways: configure, list, change, remove and test gateways; credentials sealed and masked.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { decryptSecret } from "../../src/lib/crypto";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Gateway = {
	id: string;
	name: string;
	type: string;
	config: Record<string, unknown>;
	credentials: Record<string, string>;
	priority: number;
	enabled: boolean;
	health_status: string;
};
type ErrorBody = { error: { code: string; message: string; details?: { path: string; message: string }[] } };

const MAILGUN_KEY = "key-0123456789abcdef0123456789abf00d";
const mailgun = {
	name: "Mailgun EU",
	type: "mailgun",
	enabled: true,
	priority: 10,
	weight: 1,
	config: { domain: "mg.example.com", region: "eu" },
	credentials: { api_key: MAILGUN_KEY },
};

afterEach(() => vi.restoreAllMocks());

describe("gateways", () => {
	it("creates a gateway with sealed credentials and shows only a masked hint", async () => {
		const ws = await createWorkspace();
		const res = await request("/v1/gateways", { key: ws.key, body: mailgun });
		expect(res.status).toBe(201);
		const created = await json<Gateway>(res);
		expect(created).toMatchObject({
			name: "Mailgun EU",
			type: "mailgun",
			priority: 10,
			enabled: true,
			config: { domain: "mg.example.com", region: "eu" },
			credentials: { api_key: "…f00d" },
			health_status: "unknown",
		});
		const row = await env.DB.prepare("SELECT credentials_enc FROM gateways WHERE id = ?")
			.bind(created.id)
			.first<{ credentials_enc: string }>();
		expect(row?.credentials_enc).toMatch(/^v1\./);
		expect(row?.credentials_enc).not.toContain(MAILGUN_KEY);
		expect(JSON.parse(await decryptSecret(env.ENCRYPTION_KEY, row?.credentials_enc ?? ""))).toEqual({
			api_key: MAILGUN_KEY,
		});

		const list = await json<{ data: Gateway[] }>(await request("/v1/gateways", { key: ws.key }));
		// The workspace's seeded sandbox (priority 100) comes after the new gateway (priority 10).
		expect(list.data.map((g) => g.type)).toEqual(["mailgun", "sandbox"]);
		const one = await json<Gateway>(await request(`/v1/gateways/${created.id}`, { key: ws.key }));
		expect(one.credentials).toEqual({ api_key: "…f00d" });
	});

	it("patches by merging: rotating the key keeps the config, a new domain keeps the key", async () => {
		const ws = await createWorkspace();
		const created = await json<Gateway>(await request("/v1/gateways", { key: ws.key, body: mailgun }));
		const rotated = await request(`/v1/gateways/${created.id}`, {
			key: ws.key,
			method: "PATCH",
			body: { credentials: { api_key: "key-ffffffffffffffffffffffffffffbeef" }, enabled: false },
		});
		expect(rotated.status).toBe(200);
		expect(await json<Gateway>(rotated)).toMatchObject({
			enabled: false,
			config: { domain: "mg.example.com", region: "eu" },
			credentials: { api_key: "…beef" },
		});
		const moved = await json<Gateway>(
			await request(`/v1/gateways/${created.id}`, {
				key: ws.key,
				method: "PATCH",
				body: { config: { domain: "mg2.example.com" } },
			}),
		);
		expect(moved).toMatchObject({
			config: { domain: "mg2.example.com", region: "eu" },
			credentials: { api_key: "…beef" },
		});
		const bad = await request(`/v1/gateways/${created.id}`, {
			key: ws.key,
			method: "PATCH",
			body: { config: { region: "ap" } },
		});
		expect(bad.status).toBe(422);
		expect((await json<ErrorBody>(bad)).error.message).toContain("config.region");
	});

	it("names the missing or wrong field in a 422, per type", async () => {
		const ws = await createWorkspace();
		const cases: [Record<string, unknown>, string][] = [
			[{ ...mailgun, config: { region: "eu" } }, "config.domain"],
			[{ ...mailgun, credentials: {} }, "credentials.api_key"],
			[{ ...mailgun, config: { domain: "d.test", region: "asia" } }, "config.region"],
			[{ ...mailgun, config: { domain: "d.test", sender: "x" } }, "config"],
			[
				{ name: "ses", type: "ses", config: {}, credentials: { access_key_id: "A", secret_access_key: "B" } },
				"config.region",
			],
			[{ name: "smtp", type: "smtp", config: { host: "smtp.test", port: 587 }, credentials: {} }, "config.security"],
			[
				{
					name: "gm",
					type: "gmail",
					config: { delegated_user: "x@y.test" },
					credentials: { client_email: "a@b.test" },
				},
				"credentials.private_key",
			],
			[
				{ name: "cf", type: "cloudflare", config: { mode: "rest" }, credentials: { api_token: "t" } },
				"config.account_id",
			],
			[{ name: "pm", type: "postmark", config: {}, credentials: { api_key: "x" } }, "credentials"],
			[{ ...mailgun, type: "carrier-pigeon" }, "type"],
		];
		for (const [body, field] of cases) {
			const res = await request("/v1/gateways", { key: ws.key, body });
			expect(res.status, field).toBe(422);
			const error = (await json<ErrorBody>(res)).error;
			expect(error.code).toBe("validation_error");
			expect(error.message.startsWith(field), `${error.message} should name ${field}`).toBe(true);
		}
	});

	it("requires https base URLs outside development", async () => {
		const ws = await createWorkspace();
		const body = { ...mailgun, config: { domain: "d.test", base_url: "http://mg.proxy.test" } };
		const prod = await request("/v1/gateways", { key: ws.key, body, env: { ENVIRONMENT: "production" } });
		expect(prod.status).toBe(422);
		expect((await json<ErrorBody>(prod)).error.message).toBe(
			"config.base_url: must be an https URL outside development",
		);
		expect((await request("/v1/gateways", { key: ws.key, body })).status).toBe(201);
	});

	it("refuses a second gateway of the same name with 409 and deletes with 200 then 404", async () => {
		const ws = await createWorkspace();
		const created = await json<Gateway>(await request("/v1/gateways", { key: ws.key, body: mailgun }));
		expect((await request("/v1/gateways", { key: ws.key, body: mailgun })).status).toBe(409);
		expect((await request(`/v1/gateways/${created.id}`, { key: ws.key, method: "DELETE" })).status).toBe(200);
		expect((await request(`/v1/gateways/${created.id}`, { key: ws.key })).status).toBe(404);
	});

	it("tests a gateway with its credential check and records its health", async () => {
		const ws = await createWorkspace();
		const created = await json<Gateway>(await request("/v1/gateways", { key: ws.key, body: mailgun }));
		const seen: Request[] = [];
		vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
			seen.push(new Request(input, init));
			return Response.json({ domain: { name: "mg.example.com", state: "active" } });
		});
		const res = await request(`/v1/gateways/${created.id}/test`, { key: ws.key, method: "POST" });
		expect(res.status).toBe(200);
		const outcome = await json<{ ok: boolean; latency_ms: number; detail: string }>(res);
		expect(outcome).toMatchObject({ ok: true, detail: "domain mg.example.com is active" });
		expect(outcome.latency_ms).toBeGreaterThanOrEqual(0);
		expect(seen[0]?.url).toBe("https://api.eu.mailgun.net/v4/domains/mg.example.com");
		expect((await json<Gateway>(await request(`/v1/gateways/${created.id}`, { key: ws.key }))).health_status).toBe(
			"healthy",
		);

		vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("Forbidden", { status: 401 }));
		const failed = await json<{ ok: boolean; detail: string }>(
			await request(`/v1/gateways/${created.id}/test`, { key: ws.key, method: "POST" }),
		);
		expect(failed).toMatchObject({ ok: false, detail: "mailgun 401: Forbidden" });
		expect((await json<Gateway>(await request(`/v1/gateways/${created.id}`, { key: ws.key }))).health_status).toBe(
			"unhealthy",
		);
	});

	it("sends a real test message with `to`", async () => {
		const ws = await createWorkspace();
		const created = await json<Gateway>(await request("/v1/gateways", { key: ws.key, body: mailgun }));
		const seen: Request[] = [];
		vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
			seen.push(new Request(input, init));
			return Response.json({ id: "<test.1@mg.example.com>", message: "Queued. Thank you." });
		});
		const res = await request(`/v1/gateways/${created.id}/test`, { key: ws.key, body: { to: "ops@example.org" } });
		expect(await json(res)).toMatchObject({ ok: true, detail: "accepted as <test.1@mg.example.com>" });
		const form = await seen[0]?.formData();
		expect(form?.getAll("to")).toEqual(["ops@example.org"]);
		const mime = await (form?.get("message") as File).text();
		expect(mime).toContain(`From: <mailqueue-test@${ws.domain}>`);
		expect(mime).toContain("To: <ops@example.org>");
	});
});
