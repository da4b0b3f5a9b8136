// `npm run admin -- …`: the operators' CLI for the workspaces of an environment, over the platform API
// (/v1/platform/*). The first workspace of a fresh deployment is one command:
//   npm run admin -- workspace create acme --env production
// `--help` on any command documents it; docs/operations.md has the rest.
import { Command, InvalidArgumentError, Option } from "commander";
import {
	CliError,
	call,
	describeKey,
	describeWorkspace,
	ENVIRONMENTS,
	envVarNames,
	resolveTarget,
	workspaceTable,
} from "./lib/platform-client.mjs";

const SCOPES = [
	"email:send",
	"email:read",
	"queue:manage",
	"smtp:manage",
	"analytics:read",
	"suppression:manage",
	"admin",
];

function count(value) {
	if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number");
	return Number(value);
}

const limitOrNone = (value) => (value === "none" ? null : count(value));

const prod = envVarNames("production");
const program = new Command("admin")
	.description("Create and run the workspaces of a Mail Queue environment through its platform API.")
	.addOption(new Option("--env <environment>", "which relay to manage").choices(ENVIRONMENTS).default("local"))
	.option("--url <url>", "the relay's base URL (default: MQ_<ENV>_URL; local: http://localhost:8787)")
	.option(
		"--token <token>",
		"the platform token (default: MQ_<ENV>_PLATFORM_TOKEN; local: PLATFORM_TOKEN in .dev.vars); prefer the variable, a flag shows in `ps`",
	)
	.option("--json", "print the API's JSON answer instead of text")
	.showHelpAfterError()
	.configureHelp({ showGlobalOptions: true })
	.addHelpText(
		"after",
		`
Environments: local talks to \`npm start\` on localhost:8787 with the token from .dev.vars; staging and
production need a URL and a token, e.g.
  export ${prod.url}=https://mail-queue-production.<account>.workers.dev
  export ${prod.token}=mq_platform_…   # the value given to \`wrangler secret put PLATFORM_TOKEN --env production\`
  npm run admin -- workspace create acme --env production`,
	);

async function run(command, method, path, body, print) {
	const options = command.optsWithGlobals();
	const target = resolveTarget(options);
	const answer = await call(target, method, path, body);
	console.log(options.json ? JSON.stringify(answer, null, 2) : print(answer, target));
}

const ref = (value) => encodeURIComponent(value);

function limitsFrom(o) {
	const limits = {};
	if (o.dailyLimit !== undefined) limits.daily = o.dailyLimit;
	if (o.monthlyLimit !== undefined) limits.monthly = o.monthlyLimit;
	if (o.perSenderDailyLimit !== undefined) limits.per_sender_daily = o.perSenderDailyLimit;
	return limits;
}

const withLimits = (cmd) =>
	cmd
		.option("--daily-limit <n|none>", "messages per UTC day for the workspace (none: no cap)", limitOrNone)
		.option("--monthly-limit <n|none>", "messages per calendar month", limitOrNone)
		.option("--per-sender-daily-limit <n|none>", "messages per UTC day for one sender", limitOrNone);

const workspace = program.command("workspace").description("create, list, change, suspend and delete workspaces");

withLimits(
	workspace
		.command("create <slug>")
		.description("create a workspace and print its first admin key (shown once)")
		.option("--name <name>", "display name (default: the slug)")
		.option("--sandbox", "start in sandbox_mode: all its mail is captured, not sent"),
).action(async (slug, o, cmd) =>
	run(
		cmd,
		"POST",
		"/v1/platform/workspaces",
		{ slug, ...(o.name ? { name: o.name } : {}), sandbox_mode: o.sandbox === true, limits: limitsFrom(o) },
		(a, t) =>
			`Created workspace in ${t.environment}:\n${describeWorkspace(a.workspace)}\n\n${describeKey(a.api_key, t.environment)}`,
	),
);

workspace
	.command("list")
	.description("list workspaces, newest first")
	.addOption(new Option("--status <status>", "only this status").choices(["active", "suspended", "deleting"]))
	.option("--query <prefix>", "only slugs or names starting with this")
	.option("--limit <n>", "at most this many (1-100)", count, 100)
	.option("--cursor <cursor>", "continue after this cursor (printed when there are more)")
	.action(async (o, cmd) => {
		const query = new URLSearchParams({ limit: String(o.limit) });
		if (o.status) query.set("status", o.status);
		if (o.query) query.set("q", o.query);
		if (o.cursor) query.set("cursor", o.cursor);
		await run(cmd, "GET", `/v1/platform/workspaces?${query}`, undefined, (a) =>
			a.data.length === 0
				? "No workspaces."
				: `${workspaceTable(a.data)}${a.has_more ? `\n\nMore: --cursor ${a.next_cursor}` : ""}`,
		);
	});

workspace
	.command("get <workspace>")
	.description("show a workspace (id or slug), with its deletion progress if any")
	.action(async (w, _o, cmd) => run(cmd, "GET", `/v1/platform/workspaces/${ref(w)}`, undefined, describeWorkspace));

withLimits(
	workspace
		.command("update <workspace>")
		.description("change a workspace's name, sandbox mode or limits")
		.option("--name <name>", "new display name")
		.option("--sandbox", "turn sandbox_mode on")
		.option("--no-sandbox", "turn sandbox_mode off"),
).action(async (w, o, cmd) => {
	const body = { ...(o.name ? { name: o.name } : {}), ...(o.sandbox !== undefined ? { sandbox_mode: o.sandbox } : {}) };
	const limits = limitsFrom(o);
	if (Object.keys(limits).length > 0) body.limits = limits;
	if (Object.keys(body).length === 0)
		throw new CliError("nothing to change: give --name, --sandbox/--no-sandbox or a limit");
	await run(cmd, "PATCH", `/v1/platform/workspaces/${ref(w)}`, body, describeWorkspace);
});

workspace
	.command("suspend <workspace>")
	.description("suspend: its keys answer 403 workspace_suspended and its queued mail is held")
	.action(async (w, _o, cmd) =>
		run(cmd, "PATCH", `/v1/platform/workspaces/${ref(w)}`, { suspended: true }, describeWorkspace),
	);

workspace
	.command("resume <workspace>")
	.description("resume a suspended workspace; its held mail goes out within 5 minutes")
	.action(async (w, _o, cmd) =>
		run(cmd, "PATCH", `/v1/platform/workspaces/${ref(w)}`, { suspended: false }, describeWorkspace),
	);

workspace
	.command("delete <workspace>")
	.description("suspend at once, then purge every row and stored object of it (cron, bounded batches)")
	.option("--yes", "confirm: this cannot be undone")
	.action(async (w, o, cmd) => {
		if (!o.yes) throw new CliError(`deleting ${w} cannot be undone; repeat with --yes`);
		await run(cmd, "DELETE", `/v1/platform/workspaces/${ref(w)}`, undefined, (a) =>
			[describeWorkspace(a), "", "Suspended now; `workspace get` shows the purge's progress until it is gone."].join(
				"\n",
			),
		);
	});

const key = program.command("key").description("API keys of a workspace");

key
	.command("create <workspace>")
	.description("create an API key in a workspace (default: a live admin key) and print it once")
	.option("--name <name>", "what the key is for", "Admin key (created by the platform)")
	.addOption(
		new Option("--mode <mode>", "live sends through the gateways, test only to the sandbox")
			.choices(["live", "test"])
			.default("live"),
	)
	.addOption(new Option("--scope <scope...>", "scopes (repeatable)").choices(SCOPES).default(["admin"]))
	.action(async (w, o, cmd) =>
		run(
			cmd,
			"POST",
			`/v1/platform/workspaces/${ref(w)}/api-keys`,
			{ name: o.name, mode: o.mode, scopes: o.scope },
			(a, t) => describeKey(a, t.environment),
		),
	);

try {
	await program.parseAsync(process.argv);
} catch (error) {
	if (!(error instanceof CliError)) throw error;
	console.error(`error: ${error.message}`);
	process.exitCode = 1;
}
