// The relay as a newcomer runs it: migrations applied and the demo seeded by the same code as
// `npm start`, the Worker under `wrangler dev` with Miniflare's real queue consumer, driven over HTTP.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
	applyMigrations,
	DEMO_KEY,
	DEMO_LIVE_KEY,
	ensureDevVars,
	executeLocalSql,
	seedDemo,
	startWorker,
} from "../../scripts/lib/local.mjs";
import exampleEmail from "../../src/http/schemas/example-email.json";

// MQ_TEST_PORT lets two checkouts run their node tests side by side.
const PORT = Number(process.env.MQ_TEST_PORT ?? 8790);
let dir = "";
let child: ChildProcess | undefined;
let url = "";

beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), "mq-node-test-"));
	ensureDevVars();
	applyMigrations(dir, { quiet: true });
	seedDemo(dir, { quiet: true });
	const started = await startWorker({ port: PORT, persistTo: dir, inheritOutput: false });
	child = started.child;
	// Drain the piped output so wrangler never blocks on a full pipe.
	child.stdout?.resume();
	child.stderr?.resume();
	url = started.url;
});

afterAll(() => {
	child?.kill("SIGTERM");
	if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the local relay under wrangler dev", () => {
	it("serves a valid OpenAPI 3.1 document", async () => {
		const doc = await (await fetch(`${url}/openapi.json`)).json();
		const validator = new Validator();
		const result = await validator.validate(doc);
		expect(result.errors ?? []).toEqual([]);
		expect(result.valid).toBe(true);
		expect(validator.version).toBe("3.1");
	});

	it("takes the README's curl (no Content-Type) with the demo key and delivers it to sent", async () => {
		const res = await fetch(`${url}/v1/emails`, {
			method: "POST",
			headers: {
				authorization: `Bearer ${DEMO_KEY}`,
				"idempotency-key": "readme-k1",
				"content-type": "application/x-www-form-urlencoded",
			},
			body: JSON.stringify(exampleEmail),
		});
		expect(res.status).toBe(202);
		const { id } = (await res.json()) as { id: string };
		const get = async () =>
			(await (await fetch(`${url}/v1/emails/${id}`, { headers: { authorization: `Bearer ${DEMO_KEY}` } })).json()) as {
				status: string;
				events: { type: string }[];
			};
		let email = await get();
		expect(["queued", "processing", "sent"]).toContain(email.status);
		for (let i = 0; i < 100 && email.status !== "sent"; i++) {
			await new Promise((r) => setTimeout(r, 200));
			email = await get();
		}
		expect(email.status).toBe("sent");
		expect(email.events.map((e) => e.type)).toEqual(["queued", "processing", "sent"]);
		const mime = await (
			await fetch(`${url}/v1/emails/${id}/content`, { headers: { authorization: `Bearer ${DEMO_KEY}` } })
		).text();
		expect(mime).toContain("<p>Hi</p>");
	});

	it("verifies a reserved test name at once in development, so a local workspace can send from it", async () => {
		const name = `shop-${Date.now().toString(36)}.test`;
		const auth = { authorization: `Bearer ${DEMO_KEY}`, "content-type": "application/json" };
		const added = await fetch(`${url}/v1/domains`, { method: "POST", headers: auth, body: JSON.stringify({ name }) });
		expect(added.status).toBe(201);
		expect(await added.json()).toMatchObject({ name, status: "verified", verified_by: "development" });
		const sent = await fetch(`${url}/v1/emails`, {
			method: "POST",
			headers: auth,
			body: JSON.stringify({ ...exampleEmail, from: `Shop <shop@${name}>` }),
		});
		expect(sent.status).toBe(202);
	});

	it("seeds idempotently and refuses to seed when a wrangler environment is selected", () => {
		expect(() => seedDemo(dir, { quiet: true })).not.toThrow();
		process.env.CLOUDFLARE_ENV = "production";
		try {
			expect(() => seedDemo(dir, { quiet: true })).toThrow(/refusing to seed/);
		} finally {
			delete process.env.CLOUDFLARE_ENV;
		}
	});

	it("seeds a live admin key that sends through the workspace's gateway, the demo workspace out of sandbox_mode", async () => {
		const auth = { authorization: `Bearer ${DEMO_LIVE_KEY}` };
		const workspace = (await (await fetch(`${url}/v1/workspace`, { headers: auth })).json()) as {
			slug: string;
			sandbox_mode: boolean;
		};
		expect(workspace).toMatchObject({ slug: "demo", sandbox_mode: false });
		const res = await fetch(`${url}/v1/emails`, {
			method: "POST",
			headers: { ...auth, "content-type": "application/json" },
			body: JSON.stringify(exampleEmail),
		});
		expect(res.status).toBe(202);
		const { id } = (await res.json()) as { id: string };
		let email = { status: "", sandbox: null as boolean | null };
		for (let i = 0; i < 100 && email.status !== "sent"; i++) {
			await new Promise((r) => setTimeout(r, 200));
			email = (await (await fetch(`${url}/v1/emails/${id}`, { headers: auth })).json()) as typeof email;
		}
		expect(email).toMatchObject({ status: "sent", sandbox: false });
	});

	it("switches an older database out of sandbox_mode once, and keeps a later change made through the API", async () => {
		// A GET, so one retry is safe: seedDemo runs wrangler for seconds, and the Worker may close the idle
		// keep-alive socket just as fetch reuses it ("other side closed").
		const read = () => fetch(`${url}/v1/workspace`, { headers: { authorization: `Bearer ${DEMO_KEY}` } });
		const workspace = async () =>
			((await (await read().catch(() => read())).json()) as { sandbox_mode: boolean }).sandbox_mode;
		// A database from before the live key: demo workspace in sandbox_mode, no live key.
		executeLocalSql(
			dir,
			"DELETE FROM api_keys WHERE id = 'key_demo_live'; UPDATE workspaces SET sandbox_mode = 1 WHERE id = 'ws_demo';",
			{ quiet: true },
		);
		expect(await workspace()).toBe(true);
		seedDemo(dir, { quiet: true });
		expect(await workspace()).toBe(false);
		const patched = await fetch(`${url}/v1/workspace`, {
			method: "PATCH",
			headers: { authorization: `Bearer ${DEMO_KEY}`, "content-type": "application/json" },
			body: JSON.stringify({ sandbox_mode: true }),
		});
		expect(patched.status).toBe(200);
		seedDemo(dir, { quiet: true });
		expect(await workspace()).toBe(true);
	});
});
