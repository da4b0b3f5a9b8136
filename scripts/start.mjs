// `npm start`: the whole relay locally. Writes .dev.vars on first run, applies migrations to the
// local D1, seeds the demo workspace, runs the Worker (D1, R2, Queues, Durable Objects embedded in
// Miniflare) on http://localhost:8787 and the SMTP bridge on 127.0.0.1:2525 (submission) and
// 127.0.0.1:2526 (MX: bounces and inbound mail, no AUTH), and prints the demo API keys and the local
// platform token. Ctrl-C stops everything.
import { join } from "node:path";
import { BRIDGE_DIR, startBridge } from "./lib/bridge.mjs";
import { startCron } from "./lib/cron.mjs";
import {
	applyMigrations,
	DEMO_DOMAIN,
	DEMO_KEY,
	DEMO_LIVE_KEY,
	ensureDevVars,
	readDevVars,
	seedDemo,
	startWorker,
} from "./lib/local.mjs";

const PORT = Number(process.env.PORT ?? 8787);
const SMTP_PORT = Number(process.env.SMTP_PORT ?? 2525);
const MX_PORT = Number(process.env.MX_PORT ?? 2526);

ensureDevVars();
const { PLATFORM_TOKEN, SMTP_BRIDGE_SECRET } = readDevVars();
console.log("== applying D1 migrations to the local database");
applyMigrations();
console.log("== seeding the demo workspace (local database only)");
seedDemo();
// Printed now as well as in the banner: the key is known before the Worker is up, and whatever
// watches this output may start using the relay the moment it answers.
console.log(`== demo workspace "demo" ready; local API keys: ${DEMO_KEY} (test) and ${DEMO_LIVE_KEY} (live)`);
console.log(`== local platform token (.dev.vars): ${PLATFORM_TOKEN}`);

// Processes started beside the Worker.
const processes = [];
// The bridge starts beside the Worker, not after it: it needs the Worker only per session (a session
// that arrives before the Worker answers gets 451 and is retried), so 2525 listens as soon as possible.
// The bridge's self-signed certificate is generated on its first start and kept in smtp-bridge/.tls.
const bridgeStarting = startBridge({
	workerUrl: `http://127.0.0.1:${PORT}`,
	// The MX listener asks the Worker about recipients with the bridge secret both read from .dev.vars.
	env: {
		SMTP_LISTEN: `${SMTP_PORT}/starttls`,
		MX_PORT: String(MX_PORT),
		BRIDGE_SECRET: SMTP_BRIDGE_SECRET,
		TLS_DIR: join(BRIDGE_DIR, ".tls"),
	},
}).then(
	(started) => ({ started }),
	(error) => ({ error }),
);
const { child, url } = await startWorker({ port: PORT }).catch(async (error) => {
	// No bridge left behind when the Worker cannot start.
	const started = await bridgeStarting;
	if ("started" in started) started.started.child.kill("SIGTERM");
	throw error;
});
processes.push(child);
const bridgeResult = await bridgeStarting;
if ("error" in bridgeResult) {
	console.error(
		`${bridgeResult.error.message} (is port ${SMTP_PORT} or ${MX_PORT} taken? SMTP_PORT=… / MX_PORT=… pick others); stopping`,
	);
	child.kill("SIGTERM");
	process.exit(1);
}
const bridge = bridgeResult.started;
processes.push(bridge.child);
// The recovery sweep finishes what the last run left (its count appears in the Worker's log as
// "recovery sweep: re-drove N message(s)"); then the cron ticks every minute.
const stopCron = startCron(url);

console.log(`
================================================================================
 Mail Queue is running on http://localhost:${PORT}   (API docs: http://localhost:${PORT}/docs)

 Demo workspace "demo", verified sending domain ${DEMO_DOMAIN}, sandbox gateway.
 Local API keys, admin scope (local database only, never valid anywhere else):

   ${DEMO_KEY}   test: always captured by the sandbox
   ${DEMO_LIVE_KEY}   live: sent through the workspace's gateways
                                                  (the sandbox gateway until you add one)

 Platform token (operators' API /v1/platform/*, local only, from .dev.vars):

   ${PLATFORM_TOKEN}

 Create another workspace:   npm run admin -- workspace create acme

 Send a message:
   curl -X POST ${url.replace("127.0.0.1", "localhost")}/v1/emails \\
     -H "Authorization: Bearer ${DEMO_KEY}" -H "Content-Type: application/json" \\
     -d '{"from":"App <app@${DEMO_DOMAIN}>","to":["a@x.test"],"subject":"Hi","text":"Hi"}'

 SMTP bridge on 127.0.0.1:${SMTP_PORT} (plain, or STARTTLS with the self-signed certificate in
 smtp-bridge/.tls/cert.pem). User name: anything (e.g. demo); password: an API key with email:send.
   swaks --server 127.0.0.1:${SMTP_PORT} --auth PLAIN --auth-user demo --auth-password ${DEMO_KEY} \\
     --from app@${DEMO_DOMAIN} --to a@x.test --header "Subject: Hi" --body "Hi"
   nodemailer: createTransport({ host: "127.0.0.1", port: ${SMTP_PORT}, auth: { user: "demo", pass: KEY } })
 The reply "250 2.0.0 Ok: queued as <id>" carries the id for GET /v1/emails/<id>.

 MX listener on 127.0.0.1:${MX_PORT} (no AUTH, STARTTLS offered): what other mail servers deliver to
 for the workspace's bounce and inbound addresses; other recipients get 550 5.1.1.
   swaks --server 127.0.0.1:${MX_PORT} --from "" --to bounces+<token>@<bounce domain> --header "Subject: DSN"

 Local queues live in memory: mail accepted but not yet picked up is lost if you stop the relay,
 so let the queue drain (GET /v1/emails shows nothing "queued") before Ctrl-C. Mail already in D1
 is finished by the recovery sweep on the next start.
================================================================================
`);

let stopping = false;
function stop(signal) {
	if (stopping) return;
	stopping = true;
	stopCron();
	for (const p of processes) p.kill(signal);
	setTimeout(() => process.exit(0), 3000).unref();
}
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
child.on("exit", (code) => {
	if (!stopping) {
		console.error(`wrangler dev exited (${code}); stopping`);
		stop("SIGTERM");
		process.exitCode = code ?? 1;
	}
});
bridge.child.on("exit", (code) => {
	if (!stopping) {
		console.error(`the SMTP bridge exited (${code}); stopping`);
		stop("SIGTERM");
		process.exitCode = code ?? 1;
	}
});
