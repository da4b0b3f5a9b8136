// The operator CLI (`npm run admin`) against the local relay as `npm start` runs it: the token comes
// from .dev.vars (written or completed by the same ensureDevVars), and a workspace created with one
// command sends mail with the key the command printed.
import type { ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
	applyMigrations,
	ensureDevVars,
	executeLocalSql,
	PLATFORM_TOKEN_PATTERN,
	ROOT,
	startWorker,
} from "../../scripts/lib/local.mjs";
import { resolveTarget } from "../../scripts/lib/platform-client.mjs";

// Node test files run in parallel, each on its own ports: local-relay +0, recovery +1, compat-sdks
// +2, admin-cli +3, smtp-bridge +4 and +5.
const PORT = Number(process.env.MQ_TEST_PORT ?? 8790) + 3;
const run = promisify(execFile);
let dir = "";
let child: ChildProcess | undefined;
let url = "";

type CliResult = { code: number; stdout: string; stderr: string };

async function admin(...args: string[]): Promise<CliResult> {
	try {
		const { stdout, stderr } = await run(
			process.execPath,
			[join(ROOT, "scripts", "admin.mjs"), ...args, "--url", url],
			{
				cwd: ROOT,
				// Whatever the developer exported, the token is the one in .dev.vars.
				env: { ...process.env, MQ_LOCAL_URL: "", MQ_LOCAL_PLATFORM_TOKEN: "" },
			},
		);
		return { code: 0, stdout, stderr };
	} catch (error) {
		const e = error as { code: number; stdout: string; stderr: string };
		return { code: e.code, stdout: e.stdout, stderr: e.stderr };
	}
}

/**
 * fetch, tried once more when the connection it reused had been closed by the relay while idle (the
 * request never reached it); the POST below carries an Idempotency-Key, so a retry is safe anyway.
 */
async function request(path: string, init: RequestInit = {}): Promise<Response> {
	try {
		return await fetch(`${url}${path}`, init);
	} catch (error) {
		if ((error as { cause?: { code?: string } }).cause?.code !== "UND_ERR_SOCKET") throw error;
		return fetch(`${url}${path}`, init);
	}
}

const keyIn = (out: string) => out.match(/^\s+(mq_live_[A-Za-z0-9_-]{43})$/m)?.[1];

beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), "mq-admin-test-"));
	ensureDevVars();
	applyMigrations(dir, { quiet: true });
	const started = await startWorker({ port: PORT, persistTo: dir, inheritOutput: process.env.MQ_TEST_DEBUG === "1" });
	child = started.child;
	child.stdout?.resume();
	child.stderr?.resume();
	url = started.url;
});

afterAll(() => {
	child?.kill("SIGTERM");
	if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("ensureDevVars", () => {
	it("adds a PLATFORM_TOKEN to a .dev.vars that lacks one, keeping what it has, and then leaves it alone", () => {
		const path = join(mkdtempSync(join(tmpdir(), "mq-devvars-")), ".dev.vars");
		const old = "# old checkout\nSIGNING_KEY=abc\nENCRYPTION_KEY=def";
		writeFileSync(path, old);
		ensureDevVars(path);
		const text = readFileSync(path, "utf8");
		expect(text.startsWith(`${old}\n`)).toBe(true);
		const token = text.match(/^PLATFORM_TOKEN=(.*)$/m)?.[1] ?? "";
		expect(token).toMatch(PLATFORM_TOKEN_PATTERN);
		ensureDevVars(path);
		expect(readFileSync(path, "utf8")).toBe(text);
	});
});

describe("where the CLI connects", () => {
	const devVars = join(mkdtempSync(join(tmpdir(), "mq-cli-")), ".dev.vars");
	writeFileSync(devVars, "PLATFORM_TOKEN=mq_platform_from_dev_vars_0123456789abcdefghij\n");

	it("local: localhost:8787 and the token in .dev.vars; flags win", () => {
		expect(resolveTarget({}, {}, devVars)).toEqual({
			environment: "local",
			url: "http://localhost:8787",
			token: "mq_platform_from_dev_vars_0123456789abcdefghij",
		});
		expect(resolveTarget({ url: "http://127.0.0.1:9999", token: "t" }, {}, devVars)).toMatchObject({
			url: "http://127.0.0.1:9999",
			token: "t",
		});
		expect(() => resolveTarget({}, {}, join(tmpdir(), "no-such-dir", ".dev.vars"))).toThrow(/run `npm start` once/);
	});

	it("deployed: only that environment's variables, and https only", () => {
		const vars = { MQ_PRODUCTION_URL: "https://relay.example", MQ_PRODUCTION_PLATFORM_TOKEN: "prod-token" };
		expect(resolveTarget({ env: "production" }, vars, devVars)).toEqual({
			environment: "production",
			url: "https://relay.example",
			token: "prod-token",
		});
		expect(() => resolveTarget({ env: "staging" }, vars, devVars)).toThrow(/no URL for staging.*MQ_STAGING_URL/);
		expect(() => resolveTarget({ env: "staging", url: "https://s.example" }, vars, devVars)).toThrow(
			/MQ_STAGING_PLATFORM_TOKEN/,
		);
		expect(() => resolveTarget({ env: "production", url: "http://relay.example" }, vars, devVars)).toThrow(
			/refusing to send the platform token over http/,
		);
	});
});

describe("npm run admin against the local relay", () => {
	it("creates a workspace in one command and prints a key that sends mail", async () => {
		const created = await admin("workspace", "create", "acme", "--name", "Acme", "--sandbox");
		expect(created.code, created.stderr).toBe(0);
		expect(created.stdout).toMatch(/Created workspace in local:\nacme {2}ws_/);
		expect(created.stdout).toMatch(/shown only now/);
		const key = keyIn(created.stdout);
		expect(key).toBeDefined();
		const workspaceId = created.stdout.match(/acme {2}(ws_\w+)/)?.[1] ?? "";
		// Domain verification by DNS is not the CLI's job; the test verifies one in the local database.
		executeLocalSql(
			dir,
			`INSERT INTO domains (id, workspace_id, name, status, verification_token, verified_at) VALUES ('dom_cli', '${workspaceId}', 'acme.test', 'verified', 'x', 1)`,
			{ quiet: true },
		);
		const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };
		const res = await request("/v1/emails", {
			method: "POST",
			headers: { ...auth, "idempotency-key": "cli-first-mail" },
			body: JSON.stringify({ from: "App <app@acme.test>", to: ["a@x.test"], subject: "Hi", text: "Hi" }),
		});
		expect(res.status).toBe(202);
		const { id } = (await res.json()) as { id: string };
		let status = "";
		for (let i = 0; i < 100 && status !== "sent"; i++) {
			await new Promise((r) => setTimeout(r, 200));
			status = ((await (await request(`/v1/emails/${id}`, { headers: auth })).json()) as { status: string }).status;
		}
		expect(status).toBe("sent");

		const again = await admin("workspace", "create", "acme");
		expect(again.code).toBe(1);
		expect(again.stderr).toMatch(/conflict: A workspace with the slug "acme" already exists/);
	});

	it("lists workspaces as a table and as JSON", async () => {
		await admin("workspace", "create", "listed-one");
		const table = await admin("workspace", "list", "--query", "listed");
		expect(table.code, table.stderr).toBe(0);
		expect(table.stdout).toMatch(/^ID\s+SLUG\s+STATUS\s+SANDBOX\s+NAME$/m);
		expect(table.stdout).toMatch(/ws_\w+\s+listed-one\s+active\s+off\s+listed-one/);
		const json = await admin("workspace", "list", "--json");
		const page = JSON.parse(json.stdout) as { data: { slug: string }[] };
		expect(page.data.map((w) => w.slug)).toEqual(expect.arrayContaining(["acme", "listed-one"]));
	});

	it("creates a key for a workspace, suspends it (403 workspace_suspended) and resumes it", async () => {
		await admin("workspace", "create", "keyed");
		const made = await admin("key", "create", "keyed", "--name", "ops", "--scope", "admin", "email:read");
		expect(made.code, made.stderr).toBe(0);
		expect(made.stdout).toMatch(/scopes admin, email:read/);
		const key = keyIn(made.stdout);
		const workspace = () => request("/v1/workspace", { headers: { authorization: `Bearer ${key}` } });
		expect((await workspace()).status).toBe(200);

		const suspended = await admin("workspace", "suspend", "keyed");
		expect(suspended.stdout).toMatch(/status {8}suspended/);
		const refused = await workspace();
		expect(refused.status).toBe(403);
		expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("workspace_suspended");
		await admin("workspace", "resume", "keyed");
		expect((await workspace()).status).toBe(200);
	});

	it("deletes only with --yes, and shows the workspace as deleting", async () => {
		await admin("workspace", "create", "doomed");
		const refused = await admin("workspace", "delete", "doomed");
		expect(refused.code).toBe(1);
		expect(refused.stderr).toMatch(/repeat with --yes/);
		const deleted = await admin("workspace", "delete", "doomed", "--yes");
		expect(deleted.code, deleted.stderr).toBe(0);
		expect(deleted.stdout).toMatch(/status {8}deleting/);
		expect((await admin("workspace", "get", "doomed")).stdout).toMatch(/purge from/);
	});

	it("says why when the token is wrong, and documents every command in --help", async () => {
		const wrong = await admin("workspace", "list", "--token", "mq_platform_wrong_wrong_wrong_wrong_wrong_wrong_x");
		expect(wrong.code).toBe(1);
		expect(wrong.stderr).toMatch(/unauthorized: The platform token is invalid/);
		const help = await admin("--help");
		for (const cmd of ["workspace", "key"]) expect(help.stdout).toContain(cmd);
		const ws = await admin("workspace", "--help");
		for (const cmd of ["create", "list", "get", "update", "suspend", "resume", "delete"]) {
			expect(ws.stdout).toMatch(new RegExp(`^\\s+${cmd} `, "m"));
		}
		expect((await admin("key", "create", "--help")).stdout).toMatch(/--scope <scope\.\.\.>/);
	});
});
