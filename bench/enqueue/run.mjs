// `npm run bench`: the cost of accepting mail. Starts the relay (wrangler dev, fresh local state,
// demo workspace) and a hello-world Worker on this machine, loads both with the same POST at the
// same concurrency in one run, and reports throughput and latency as a ratio to the baseline, the
// relay's D1 write transactions and queue sends per accepted message (from its /metrics counters),
// and materialization lag (202 → row in D1). Local Miniflare figures, not production ones.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import {
	applyMigrations,
	DEMO_KEY,
	ensureDevVars,
	ROOT,
	readDevVars,
	seedDemo,
	startWorker,
} from "../../scripts/lib/local.mjs";
import email from "../../src/http/schemas/example-email.json" with { type: "json" };

const RELAY_PORT = 8788;
const HELLO_PORT = 8789;
const PRODUCER_ONLY_PORT = 8792;
const CONNECTIONS = 32;
const WARMUP_S = 3;
const DURATION_S = 10;
const BATCH_SIZE = 1000;
const BATCH_CONNECTIONS = 2;
// Miniflare's local queue broker holds a timer per backlogged message and workerd caps a process at
// 10,000 active timers, so the batch phase stays under ~10k messages in flight (8 × 1,000).
const BATCH_REQUESTS = 8;
const BREAKDOWN_S = 5;
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");

const headers = { authorization: `Bearer ${DEMO_KEY}`, "content-type": "application/json" };
const children = [];
const dir = mkdtempSync(join(tmpdir(), "mq-bench-"));
const producerDir = mkdtempSync(join(tmpdir(), "mq-bench-producer-"));

function cleanup() {
	for (const child of children) child.kill("SIGTERM");
	rmSync(dir, { recursive: true, force: true });
	rmSync(producerDir, { recursive: true, force: true });
}

/**
 * The relay's own wrangler.toml without its queue consumers, so that the send path can be measured
 * without the consumer's work competing for this machine's cores (in production it runs elsewhere).
 */
function producerOnlyConfig() {
	const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8")
		.split("# ---------------------------------------------------------------------------------------------")[0]
		.replace(/\[\[queues\.consumers\]\][^[]*/g, "")
		.replace('main = "workers/index.ts"', `main = "${join(ROOT, "workers", "index.ts")}"`)
		.replace('migrations_dir = "migrations"', `migrations_dir = "${join(ROOT, "migrations")}"`);
	const path = join(producerDir, "wrangler.toml");
	writeFileSync(path, toml);
	return path;
}
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

async function startHello() {
	const child = spawn(
		WRANGLER,
		["dev", "-c", "bench/enqueue/hello/wrangler.toml", "--port", String(HELLO_PORT), "--ip", "127.0.0.1"],
		{
			cwd: ROOT,
			stdio: ["ignore", "ignore", "ignore"],
			env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
		},
	);
	children.push(child);
	const url = `http://127.0.0.1:${HELLO_PORT}`;
	for (let i = 0; i < 400; i++) {
		try {
			if ((await fetch(url, { method: "POST", body: "{}" })).status === 202) return url;
		} catch {
			// not listening yet
		}
		await new Promise((r) => setTimeout(r, 300));
	}
	throw new Error("hello-world Worker did not start");
}

function load(url, { body, connections, duration, amount }) {
	return new Promise((resolve, reject) => {
		autocannon(
			{ url, method: "POST", headers, body, connections, pipelining: 1, ...(amount ? { amount } : { duration }) },
			(error, result) => (error ? reject(error) : resolve(result)),
		);
	});
}

async function counters(url) {
	const text = await (await fetch(`${url}/metrics`, { headers })).text();
	const values = {};
	for (const m of text.matchAll(/^mq_(\w+) (\d+)$/gm)) values[m[1]] = Number(m[2]);
	return values;
}

/** Waits until the consumer has materialized and delivered everything accepted so far. */
async function settle(url) {
	const deadline = Date.now() + 120_000;
	for (;;) {
		const c = await counters(url);
		if (c.messages_materialized_total >= c.emails_accepted_total && c.messages_sent_total >= c.emails_accepted_total)
			return c;
		if (Date.now() > deadline) return c;
		await new Promise((r) => setTimeout(r, 500));
	}
}

function d1(sql) {
	const out = spawnSync(WRANGLER, ["d1", "execute", "DB", "--local", "--persist-to", dir, "--json", "--command", sql], {
		cwd: ROOT,
		encoding: "utf8",
		env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
	});
	if (out.status !== 0) throw new Error(`wrangler d1 execute failed: ${out.stderr}`);
	return JSON.parse(out.stdout)[0].results;
}

const percentile = (sorted, p) =>
	sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** 202 → D1 row: the `processing` event is written in the same transaction that inserts the row. */
function lag(from, to) {
	const rows = d1(
		`SELECT e.created_at - m.created_at AS lag FROM messages m JOIN events e ON e.message_id = m.id AND e.type = 'processing'
		 WHERE m.created_at BETWEEN ${from} AND ${to}`,
	);
	const values = rows.map((r) => r.lag).sort((a, b) => a - b);
	return { messages: values.length, p50_ms: percentile(values, 50), p99_ms: percentile(values, 99) };
}

function perMessage(before, after) {
	const accepted = after.emails_accepted_total - before.emails_accepted_total;
	const ratio = (name) => (accepted === 0 ? null : +((after[name] - before[name]) / accepted).toFixed(4));
	return {
		accepted,
		d1_write_transactions_per_message: ratio("d1_write_batches_total"),
		queue_send_calls_per_message: ratio("queue_send_calls_total"),
		queue_messages_per_message: ratio("queue_messages_sent_total"),
	};
}

const summary = (r) => ({
	requests_per_s: Math.round(r.requests.average),
	p50_ms: r.latency.p50,
	p99_ms: r.latency.p99,
	non_2xx: r.non2xx,
	errors: r.errors,
	timeouts: r.timeouts,
});

console.log("== preparing: migrations and demo seed in a fresh local state");
ensureDevVars();
applyMigrations(dir, { quiet: true });
seedDemo(dir, { quiet: true });
console.log("== starting the relay and the hello-world Worker");
const relay = await startWorker({ port: RELAY_PORT, persistTo: dir, inheritOutput: false });
// The relay's own error lines are kept, so a failure under load is reported with its cause.
const relayErrors = [];
for (const stream of [relay.child.stdout, relay.child.stderr]) {
	stream.setEncoding("utf8");
	stream.on("data", (chunk) => {
		for (const line of chunk.split("\n")) {
			if (/failed|error|exceed|unavailable/i.test(line) && !/workers\.cloudflare\.com|Request\.cf/.test(line))
				relayErrors.push(line.trim());
		}
	});
}
children.push(relay.child);
const hello = await startHello();
const single = JSON.stringify(email);

console.log(
	`== single sends: ${CONNECTIONS} connections, ${WARMUP_S} s warm-up, ${DURATION_S} s measured, each target`,
);
await load(`${hello}/v1/emails`, { body: single, connections: CONNECTIONS, duration: WARMUP_S });
const helloResult = summary(
	await load(`${hello}/v1/emails`, { body: single, connections: CONNECTIONS, duration: DURATION_S }),
);
await load(`${relay.url}/v1/emails`, { body: single, connections: CONNECTIONS, duration: WARMUP_S });
const before = await settle(relay.url);
const singleFrom = Date.now();
const relayResult = summary(
	await load(`${relay.url}/v1/emails`, { body: single, connections: CONNECTIONS, duration: DURATION_S }),
);
const singleTo = Date.now();
const afterSingle = await settle(relay.url);

console.log(`== producer only: the relay without queue consumers, ${DURATION_S} s`);
const producerConfig = producerOnlyConfig();
applyMigrations(producerDir, { quiet: true });
seedDemo(producerDir, { quiet: true });
const producer = await startWorker({
	port: PRODUCER_ONLY_PORT,
	persistTo: producerDir,
	inheritOutput: false,
	extraArgs: ["-c", producerConfig],
	vars: readDevVars(),
});
producer.child.stdout.resume();
producer.child.stderr.resume();
children.push(producer.child);
await load(`${producer.url}/v1/emails`, { body: single, connections: CONNECTIONS, duration: WARMUP_S });
const producerOnly = summary(
	await load(`${producer.url}/v1/emails`, { body: single, connections: CONNECTIONS, duration: DURATION_S }),
);
producer.child.kill("SIGTERM");

console.log(`== breakdown: ${BREAKDOWN_S} s each of GET /healthz and of a send refused after all checks (no queue)`);
const floor = summary(
	await new Promise((resolve, reject) =>
		autocannon({ url: `${relay.url}/healthz`, connections: CONNECTIONS, duration: BREAKDOWN_S }, (e, r) =>
			e ? reject(e) : resolve(r),
		),
	),
);
// From a domain the workspace has not verified: auth, body parsing and validation run, the queue is not touched.
const refused = summary(
	await load(`${relay.url}/v1/emails`, {
		body: JSON.stringify({ ...email, from: "App <app@unverified.test>" }),
		connections: CONNECTIONS,
		duration: BREAKDOWN_S,
	}),
);

console.log(`== batch sends: ${BATCH_REQUESTS} requests of ${BATCH_SIZE} messages, ${BATCH_CONNECTIONS} connections`);
const batchBody = JSON.stringify(Array.from({ length: BATCH_SIZE }, (_, i) => ({ ...email, to: [`r${i}@x.test`] })));
const batchFrom = Date.now();
const batchRaw = await load(`${relay.url}/v1/emails/batch`, {
	body: batchBody,
	connections: BATCH_CONNECTIONS,
	amount: BATCH_REQUESTS,
});
const batchTo = Date.now();
const afterBatch = await settle(relay.url);
const batchSeconds = (batchTo - batchFrom) / 1000;

relay.child.kill("SIGTERM");
await new Promise((r) => setTimeout(r, 1500));

const results = {
	relay_error_lines: { count: relayErrors.length, first: relayErrors.slice(0, 10) },
	machine: { cpus: (await import("node:os")).cpus().length, node: process.version },
	single: {
		hello: helloResult,
		relay: relayResult,
		throughput_ratio: +(relayResult.requests_per_s / helloResult.requests_per_s).toFixed(3),
		cost: perMessage(before, afterSingle),
		materialization_lag: lag(singleFrom, singleTo),
		targets: { throughput_ratio: ">= 0.45", p99_ms: "<= 50 at 32 connections", lag_p99_ms: "<= 2000" },
		breakdown: {
			relay_without_consumers: {
				...producerOnly,
				ratio_to_hello: +(producerOnly.requests_per_s / helloResult.requests_per_s).toFixed(3),
			},
			relay_healthz: { ...floor, ratio_to_hello: +(floor.requests_per_s / helloResult.requests_per_s).toFixed(3) },
			relay_send_without_queue: {
				...refused,
				ratio_to_hello: +(refused.requests_per_s / helloResult.requests_per_s).toFixed(3),
			},
		},
	},
	batch: {
		relay: {
			...summary(batchRaw),
			messages_per_s: Math.round((afterBatch.emails_accepted_total - afterSingle.emails_accepted_total) / batchSeconds),
		},
		cost: perMessage(afterSingle, afterBatch),
		materialization_lag: lag(batchFrom, batchTo),
		targets: { d1_write_transactions_per_message: "<= 0.1" },
	},
};

const s = results.single;
const b = results.batch;
console.log(`
single send (POST /v1/emails, ${CONNECTIONS} connections)
  hello-world   ${s.hello.requests_per_s} req/s   p50 ${s.hello.p50_ms} ms   p99 ${s.hello.p99_ms} ms
  relay         ${s.relay.requests_per_s} req/s   p50 ${s.relay.p50_ms} ms   p99 ${s.relay.p99_ms} ms   non-2xx ${s.relay.non_2xx}
  ratio         ${s.throughput_ratio}  (target >= 0.45; p99 target <= 50 ms)
  per message   ${s.cost.d1_write_transactions_per_message} D1 write tx, ${s.cost.queue_send_calls_per_message} queue sends  (${s.cost.accepted} accepted)
  lag 202→D1    p50 ${s.materialization_lag.p50_ms} ms   p99 ${s.materialization_lag.p99_ms} ms  (target p99 <= 2000 ms; ${s.materialization_lag.messages} messages)
  breakdown     same send, consumers off ${s.breakdown.relay_without_consumers.requests_per_s} req/s (${s.breakdown.relay_without_consumers.ratio_to_hello}x hello, p50 ${s.breakdown.relay_without_consumers.p50_ms} ms, p99 ${s.breakdown.relay_without_consumers.p99_ms} ms)
                relay GET /healthz ${s.breakdown.relay_healthz.requests_per_s} req/s (${s.breakdown.relay_healthz.ratio_to_hello}x hello, p99 ${s.breakdown.relay_healthz.p99_ms} ms)
                send refused before the queue ${s.breakdown.relay_send_without_queue.requests_per_s} req/s (${s.breakdown.relay_send_without_queue.ratio_to_hello}x hello, p99 ${s.breakdown.relay_send_without_queue.p99_ms} ms)

batch send (POST /v1/emails/batch, ${BATCH_SIZE} per request, ${BATCH_CONNECTIONS} connections)
  relay         ${b.relay.messages_per_s} msg/s   request p50 ${b.relay.p50_ms} ms   p99 ${b.relay.p99_ms} ms   non-2xx ${b.relay.non_2xx}
  per message   ${b.cost.d1_write_transactions_per_message} D1 write tx (target <= 0.1), ${b.cost.queue_send_calls_per_message} queue sends  (${b.cost.accepted} accepted)
  lag 202→D1    p50 ${b.materialization_lag.p50_ms} ms   p99 ${b.materialization_lag.p99_ms} ms  (${b.materialization_lag.messages} messages)
`);
const out = join(ROOT, "bench", "results");
mkdirSync(out, { recursive: true });
const file = join(out, `enqueue-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`full results: ${file}`);
if (relayErrors.length > 0)
	console.log(`relay logged ${relayErrors.length} error lines; first:\n  ${relayErrors.slice(0, 5).join("\n  ")}`);
process.exit(0);
