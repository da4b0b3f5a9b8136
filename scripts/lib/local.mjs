// Local set-up shared by `npm start` and `npm run bench`: secrets in .dev.vars, migrations, the demo
// seed and the wrangler dev process. Everything here touches only the local Miniflare state.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..", "..");
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");
export const DEV_VARS = join(ROOT, ".dev.vars");

/**
 * The demo workspace's API keys, both with the admin scope. Local only: seeding refuses anything but
 * the local database. The test key always captures in the sandbox; the live key sends through the
 * workspace's gateways (the seeded sandbox gateway until you add a real one).
 */
export const DEMO_KEY = "mq_test_local_demo_key_00000000000000000000";
export const DEMO_LIVE_KEY = "mq_live_local_demo_key_00000000000000000000";
export const DEMO_DOMAIN = "example.test";

/** The local platform token's shape (src/env.ts checks the same). */
export const PLATFORM_TOKEN_PATTERN = /^mq_platform_[A-Za-z0-9_-]{32,256}$/;

const newPlatformToken = () => `mq_platform_${randomBytes(32).toString("base64url")}`;

/** Secrets added after .dev.vars first existed, each made when a file lacks it. */
const LATER_SECRETS = {
	PLATFORM_TOKEN: newPlatformToken,
	// The SMTP bridge's secret: the MX listener (and trusted-network relay) of `npm start` use it.
	SMTP_BRIDGE_SECRET: () => randomBytes(32).toString("base64url"),
};

/**
 * Writes .dev.vars with fresh secrets the first time; later runs keep them, and add a secret that a
 * file from an older checkout lacks (PLATFORM_TOKEN, SMTP_BRIDGE_SECRET) without touching the others.
 */
export function ensureDevVars(path = DEV_VARS) {
	if (existsSync(path)) {
		let text = readFileSync(path, "utf8");
		for (const [name, make] of Object.entries(LATER_SECRETS)) {
			if (new RegExp(`^${name}=`, "m").test(text)) continue;
			const sep = text.length === 0 || text.endsWith("\n") ? "" : "\n";
			text = `${text}${sep}${name}=${make()}\n`;
			writeFileSync(path, text);
		}
		return path;
	}
	const signing = randomBytes(32).toString("base64url");
	const encryption = randomBytes(32).toString("base64");
	writeFileSync(
		path,
		`# Local secrets for wrangler dev, made by npm start. Deployed environments use \`wrangler secret put\`.\nSIGNING_KEY=${signing}\nENCRYPTION_KEY=${encryption}\nPLATFORM_TOKEN=${newPlatformToken()}\nSMTP_BRIDGE_SECRET=${LATER_SECRETS.SMTP_BRIDGE_SECRET()}\n`,
	);
	return path;
}

export function readDevVars(path = DEV_VARS) {
	const vars = {};
	for (const line of readFileSync(ensureDevVars(path), "utf8").split("\n")) {
		const m = line.match(/^([A-Z_]+)=(.*)$/);
		if (m) vars[m[1]] = m[2];
	}
	return vars;
}

// A second process writing the local SQLite file while `wrangler dev` holds it can meet SQLITE_BUSY;
// that is worth a few tries rather than a failed start or test.
const BUSY = /SQLITE_BUSY|database is locked/i;
const BUSY_TRIES = 5;

function wrangler(args, { quiet = false } = {}) {
	for (let attempt = 1; ; attempt++) {
		const result = spawnSync(WRANGLER, args, {
			cwd: ROOT,
			stdio: "pipe",
			env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
			encoding: "utf8",
		});
		const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
		if (result.status === 0) {
			if (!quiet) process.stdout.write(output);
			return result.stdout ?? "";
		}
		if (attempt < BUSY_TRIES && BUSY.test(output)) {
			Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300 * attempt);
			continue;
		}
		process.stderr.write(output);
		throw new Error(`wrangler ${args.join(" ")} failed with exit code ${result.status}`);
	}
}

/** Runs one SQL statement against the local D1 database and returns its rows. */
export function queryLocal(sql, persistTo) {
	const out = wrangler(["d1", "execute", "DB", "--local", ...persistArgs(persistTo), "--json", "--command", sql], {
		quiet: true,
	});
	return JSON.parse(out)[0]?.results ?? [];
}

const persistArgs = (persistTo) => (persistTo ? ["--persist-to", persistTo] : []);

export function applyMigrations(persistTo, options) {
	wrangler(["d1", "migrations", "apply", "DB", "--local", ...persistArgs(persistTo)], options);
}

/**
 * Seeds the demo workspace idempotently. Always `--local`, never `--env` or `--remote`: this function
 * has no way to reach a deployed database, and refuses to run if the environment asks for one.
 */
export function seedDemo(persistTo, options) {
	if (process.env.CLOUDFLARE_ENV || process.env.WRANGLER_ENV) {
		throw new Error(
			"refusing to seed: a wrangler environment is selected; the demo seed is for the local database only",
		);
	}
	const hash = (key) => createHash("sha256").update(key).digest("hex");
	// Databases seeded before the live key existed have the demo workspace in sandbox_mode; the
	// UPDATE runs once, before the live key is added, so a later PATCH /v1/workspace is respected.
	const sql = `
INSERT OR IGNORE INTO workspaces (id, slug, name, sandbox_mode) VALUES ('ws_demo', 'demo', 'Demo', 0);
UPDATE workspaces SET sandbox_mode = 0
  WHERE id = 'ws_demo' AND NOT EXISTS (SELECT 1 FROM api_keys WHERE id = 'key_demo_live');
INSERT OR IGNORE INTO domains (id, workspace_id, name, status, verification_token, verified_at)
  VALUES ('dom_demo', 'ws_demo', '${DEMO_DOMAIN}', 'verified', 'local-demo', unixepoch() * 1000);
INSERT OR IGNORE INTO gateways (id, workspace_id, name, type, priority) VALUES ('gw_demo_sandbox', 'ws_demo', 'Sandbox', 'sandbox', 1);
INSERT OR IGNORE INTO api_keys (id, workspace_id, name, prefix, key_hash, mode, scopes)
  VALUES ('key_demo', 'ws_demo', 'Local demo key', '${DEMO_KEY.slice(0, 12)}', '${hash(DEMO_KEY)}', 'test', '["admin"]');
INSERT OR IGNORE INTO api_keys (id, workspace_id, name, prefix, key_hash, mode, scopes)
  VALUES ('key_demo_live', 'ws_demo', 'Local demo live key', '${DEMO_LIVE_KEY.slice(0, 12)}', '${hash(DEMO_LIVE_KEY)}', 'live', '["admin"]');
`;
	executeLocalSql(persistTo, sql, options);
}

/** Runs SQL against the local database only (tests use it to stage an older database). */
export function executeLocalSql(persistTo, sql, options) {
	const file = join(mkdtempSync(join(tmpdir(), "mq-sql-")), "run.sql");
	writeFileSync(file, sql);
	return wrangler(["d1", "execute", "DB", "--local", ...persistArgs(persistTo), "--file", file, "--yes"], options);
}

/**
 * Starts `wrangler dev`; resolves once it answers /healthz. `detached` puts it in a process group of
 * its own (wrangler and its workerd), so a test can kill the whole relay at once.
 */
export async function startWorker({
	port = 8787,
	persistTo,
	extraArgs = [],
	inheritOutput = true,
	vars = {},
	detached = false,
} = {}) {
	const args = ["dev", "--port", String(port), "--ip", "127.0.0.1", ...persistArgs(persistTo), ...extraArgs];
	for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
	const child = spawn(WRANGLER, args, {
		cwd: ROOT,
		stdio: ["ignore", inheritOutput ? "inherit" : "pipe", inheritOutput ? "inherit" : "pipe"],
		env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
		detached,
	});
	const url = `http://127.0.0.1:${port}`;
	const deadline = Date.now() + 120_000;
	while (Date.now() < deadline) {
		if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`);
		try {
			if ((await fetch(`${url}/healthz`)).ok) return { child, url };
		} catch {
			// not listening yet
		}
		await new Promise((r) => setTimeout(r, 300));
	}
	child.kill("SIGTERM");
	throw new Error("wrangler dev did not answer /healthz within 120 s");
}
