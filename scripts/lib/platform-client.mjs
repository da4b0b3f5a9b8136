// The operator CLI's side of the platform API: where an environment's relay is and which token it
// takes, one HTTP call with a timeout, and the text the CLI prints. Kept apart from the argument
// parsing (scripts/admin.mjs) so each reads on its own.
import { existsSync, readFileSync } from "node:fs";
import { DEV_VARS } from "./local.mjs";

export const ENVIRONMENTS = ["local", "staging", "production"];
/** Longest one platform call may take before the CLI gives up (the relay answers in milliseconds). */
export const REQUEST_TIMEOUT_MS = 15_000;
const LOCAL_URL = "http://localhost:8787";

export class CliError extends Error {}

/** Environment variables per environment, so a variable set for one never reaches another. */
export function envVarNames(environment) {
	const upper = environment.toUpperCase();
	return { url: `MQ_${upper}_URL`, token: `MQ_${upper}_PLATFORM_TOKEN` };
}

function localToken(devVars) {
	if (!existsSync(devVars)) {
		throw new CliError(`no ${devVars}: run \`npm start\` once, which writes it with the local platform token`);
	}
	const line = readFileSync(devVars, "utf8")
		.split("\n")
		.find((l) => l.startsWith("PLATFORM_TOKEN="));
	if (!line) {
		throw new CliError(`${devVars} has no PLATFORM_TOKEN: restart \`npm start\`, which adds one`);
	}
	return line.slice("PLATFORM_TOKEN=".length).trim();
}

/**
 * The relay to call and its token: flags first, then the environment's variables, then (local only)
 * localhost:8787 and .dev.vars. A deployed environment must be reached over https.
 */
export function resolveTarget(options, processEnv = process.env, devVars = DEV_VARS) {
	const environment = options.env ?? "local";
	if (!ENVIRONMENTS.includes(environment)) {
		throw new CliError(`unknown environment "${environment}": use ${ENVIRONMENTS.join(", ")}`);
	}
	const names = envVarNames(environment);
	const local = environment === "local";
	// An exported but empty variable counts as unset.
	const fromEnv = (name) => processEnv[name] || undefined;
	const url = options.url ?? fromEnv(names.url) ?? (local ? LOCAL_URL : undefined);
	if (!url) {
		throw new CliError(`no URL for ${environment}: pass --url https://… or set ${names.url}`);
	}
	let parsed;
	try {
		parsed = new URL(url);
	} catch {
		throw new CliError(`--url ${url} is not a URL`);
	}
	const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(parsed.hostname);
	if (parsed.protocol !== "https:" && !loopback) {
		throw new CliError(`refusing to send the platform token over ${parsed.protocol} to ${parsed.host}: use https`);
	}
	const token = options.token ?? fromEnv(names.token) ?? (local ? localToken(devVars) : undefined);
	if (!token) {
		throw new CliError(
			`no platform token for ${environment}: set ${names.token} (the value you gave \`wrangler secret put PLATFORM_TOKEN --env ${environment}\`), or pass --token`,
		);
	}
	return { environment, url: parsed.origin, token };
}

/** One platform call; answers the parsed body, or throws a CliError carrying the API's envelope. */
export async function call(target, method, path, body, fetchImpl = fetch) {
	let res;
	try {
		res = await fetchImpl(`${target.url}${path}`, {
			method,
			headers: {
				authorization: `Bearer ${target.token}`,
				"user-agent": "mail-queue-admin",
				...(body === undefined ? {} : { "content-type": "application/json" }),
			},
			body: body === undefined ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
			redirect: "manual",
		});
	} catch (error) {
		const reason =
			error instanceof Error && error.name === "TimeoutError" ? "timed out" : String(error?.cause ?? error);
		throw new CliError(`cannot reach ${target.url} (${target.environment}): ${reason}`);
	}
	const text = await res.text();
	let parsed;
	try {
		parsed = text ? JSON.parse(text) : {};
	} catch {
		throw new CliError(`${method} ${path} answered ${res.status} with a body that is not JSON`);
	}
	if (!res.ok) {
		const e = parsed?.error;
		const detail = e ? `${e.code}: ${e.message} (request ${e.request_id})` : `HTTP ${res.status}`;
		throw new CliError(`${method} ${path} failed: ${detail}`);
	}
	return parsed;
}

const yesNo = (b) => (b ? "on" : "off");
const limit = (n) => (n === null || n === undefined ? "none" : String(n));

export function describeWorkspace(w) {
	const lines = [
		`${w.slug}  ${w.id}`,
		`  name          ${w.name}`,
		`  status        ${w.status}`,
		`  sandbox_mode  ${yesNo(w.sandbox_mode)}`,
		`  limits        daily ${limit(w.limits.daily)}, monthly ${limit(w.limits.monthly)}, per sender daily ${limit(w.limits.per_sender_daily)}`,
		`  created       ${w.created_at}`,
	];
	if (w.deletion) {
		const d = w.deletion;
		lines.push(
			`  deletion      requested ${d.requested_at}, purge from ${d.purge_starts_at}`,
			`                ${d.rows_deleted} rows and ${d.objects_deleted} objects deleted in ${d.runs} run(s)`,
		);
	}
	return lines.join("\n");
}

export function describeKey(k, environment) {
	return [
		`API key ${k.id} (${k.mode}, scopes ${k.scopes.join(", ")}) for ${environment}.`,
		"The secret is shown only now; store it in your secret manager:",
		"",
		`  ${k.key}`,
		"",
	].join("\n");
}

export function workspaceTable(rows) {
	const header = ["ID", "SLUG", "STATUS", "SANDBOX", "NAME"];
	const cells = rows.map((w) => [w.id, w.slug, w.status, yesNo(w.sandbox_mode), w.name]);
	const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
	return [header, ...cells]
		.map((r) =>
			r
				.map((c, i) => c.padEnd(widths[i]))
				.join("  ")
				.trimEnd(),
		)
		.join("\n");
}
