// `npm run bench:failover`: 10,000 messages through two fake Resend gateways on 127.0.0.1, the
// primary of which answers 503 to every call until half the messages have been delivered (then it
// recovers). The relay runs under wrangler dev with a fresh local state, the demo workspace's sandbox
// gateway disabled, so every message is routed primary → secondary within its attempt. Reports
// messages lost, recipients sent twice, calls the failing gateway took before its breaker opened,
// breaker calls per delivered message, recovery → first success through it, and 202 → sent throughput.
// Flags: --messages N (default 10,000), --timeout S (default 420), --breaker-timeout S (default 5: how
// long the primary's breaker stays open before a probe; the relay's default is 30 s, longer than
// 10,000 messages take to drain locally, so with it no send would reach the recovered gateway).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
	applyMigrations,
	DEMO_LIVE_KEY,
	ensureDevVars,
	queryLocal,
	ROOT,
	seedDemo,
	startWorker,
} from "../../scripts/lib/local.mjs";
import { startFakeResend } from "./fake-resend.mjs";

const { values: flags } = parseArgs({
	options: {
		messages: { type: "string", default: "10000" },
		timeout: { type: "string", default: "420" },
		"breaker-timeout": { type: "string", default: "5" },
	},
});
const MESSAGES = Number(flags.messages);
const TIMEOUT_MS = Number(flags.timeout) * 1000;
const BREAKER_TIMEOUT_S = Number(flags["breaker-timeout"]);
const PORT = Number(process.env.MQ_BENCH_PORT ?? 8796);
const BATCH = 1_000;
// Miniflare's local queue broker holds a timer per backlogged message and workerd caps a process at
// 10,000 active timers (bench/README.md), so no more than this many are accepted and not yet sent.
const MAX_IN_FLIGHT = 8_000;
const STATUS_POLL_MS = 1_000;
const headers = { authorization: `Bearer ${DEMO_LIVE_KEY}`, "content-type": "application/json" };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Distinct recipients answered 200 by either fake, and when the half-way switch flipped. */
const delivered = new Set();
let recoveredAt = null;
const onCall = (call) => {
	if (call.status !== 200) return;
	for (const to of call.to) delivered.add(to);
	if (recoveredAt === null && delivered.size >= MESSAGES / 2) recoveredAt = Date.now();
};
const primary = await startFakeResend({ name: "primary", failing: () => recoveredAt === null, onCall });
const secondary = await startFakeResend({ name: "secondary", onCall });

ensureDevVars();
const dir = mkdtempSync(join(tmpdir(), "mq-bench-failover-"));
applyMigrations(dir, { quiet: true });
seedDemo(dir, { quiet: true });
const { child, url } = await startWorker({ port: PORT, persistTo: dir, inheritOutput: false });
const tail = [];
for (const stream of [child.stdout, child.stderr])
	stream.on("data", (d) => {
		tail.push(...String(d).split("\n"));
		tail.splice(0, Math.max(0, tail.length - 400));
	});

/**
 * fetch, retried once when the connection drops: undici may reuse a keep-alive socket that workerd
 * has just closed ("other side closed"), seen once in a dozen runs. Only reads are retried.
 */
async function fetchRelay(path, init = {}) {
	try {
		return await fetch(`${url}${path}`, init);
	} catch (error) {
		if ((init.method ?? "GET") !== "GET") throw error;
		await sleep(200);
		return fetch(`${url}${path}`, init);
	}
}

async function api(method, path, body) {
	const res = await fetchRelay(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
	const json = await res.json().catch(() => null);
	if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
	return json;
}

async function counters() {
	const text = await (await fetchRelay("/metrics", { headers })).text();
	const values = {};
	for (const m of text.matchAll(/^mq_(\w+) (\d+)$/gm)) values[m[1]] = Number(m[2]);
	return values;
}

let result;
try {
	await api("PATCH", "/v1/gateways/gw_demo_sandbox", { enabled: false });
	// Both with the default breaker (5 failures open it, 3 probe successes close it, 1 probe at a
	// time) except how long it stays open.
	const gateway = (name, fake, priority) =>
		api("POST", "/v1/gateways", {
			name,
			breaker: { timeout_seconds: BREAKER_TIMEOUT_S },
			type: "resend",
			enabled: true,
			priority,
			config: { base_url: fake.url },
			credentials: { api_key: `re_bench_${name}_key` },
		});
	const primaryId = (await gateway("primary", primary, 1)).id;
	await gateway("secondary", secondary, 2);

	// GET /v1/gateways/status asks every breaker for a snapshot, which the counter counts too: measure
	// what one poll adds, so the consumer's own calls can be told apart.
	const beforePoll = await counters();
	await api("GET", "/v1/gateways/status");
	const perPoll = (await counters()).breaker_calls_total - beforePoll.breaker_calls_total;

	const start = await counters();
	let polls = 0;
	let openedAt = null;
	let stopPolling = false;
	const poller = (async () => {
		while (openedAt === null && !stopPolling) {
			polls++;
			const status = await api("GET", "/v1/gateways/status");
			const breaker = status.data.find((g) => g.id === primaryId)?.breaker;
			if (breaker && breaker.state !== "closed")
				openedAt = breaker.opened_at ? Date.parse(breaker.opened_at) : Date.now();
			else await sleep(STATUS_POLL_MS);
		}
	})();

	const accepted = [];
	let rejected = 0;
	let first202 = null;
	const sendStarted = Date.now();
	for (let sent = 0; sent < MESSAGES; sent += BATCH) {
		const size = Math.min(BATCH, MESSAGES - sent);
		while (accepted.length - delivered.size + size > MAX_IN_FLIGHT) await sleep(200);
		const items = Array.from({ length: size }, (_, i) => ({
			from: "App <app@example.test>",
			to: [`r${sent + i}@x.test`],
			subject: "Failover bench",
			text: "Hi",
		}));
		const body = await api("POST", "/v1/emails/batch", items);
		first202 ??= Date.now();
		for (const item of body.data) {
			if (item.id) accepted.push(item.id);
			else rejected++;
		}
	}
	const sendEnded = Date.now();

	const deadline = sendStarted + TIMEOUT_MS;
	while (delivered.size < accepted.length && Date.now() < deadline) await sleep(500);
	// The fakes answered; the consumer writes the outcome right after. Wait for D1 to show it.
	let statuses = {};
	for (let i = 0; i < 20; i++) {
		// A second process reading the local SQLite file while the relay writes it may get SQLITE_BUSY.
		let rows;
		try {
			rows = queryLocal("SELECT status, COUNT(*) AS n FROM messages GROUP BY status", dir);
		} catch {
			await sleep(1_000);
			continue;
		}
		statuses = Object.fromEntries(rows.map((r) => [r.status, r.n]));
		const final = (statuses.sent ?? 0) + (statuses.failed ?? 0) + (statuses.rejected ?? 0);
		if (final >= accepted.length || Date.now() > deadline) break;
		await sleep(2_000);
	}
	stopPolling = true;
	await poller;
	const end = await counters();

	const allCalls = [...primary.calls, ...secondary.calls];
	const timesSent = new Map();
	const keysOf = new Map();
	for (const c of allCalls) {
		if (c.status !== 200) continue;
		for (const to of c.to) {
			timesSent.set(to, (timesSent.get(to) ?? 0) + 1);
			keysOf.set(to, [...(keysOf.get(to) ?? []), c.key]);
		}
	}
	const twice = [...timesSent.entries()].filter(([, n]) => n > 1);
	const twiceSameKey = twice.filter(([to]) => new Set(keysOf.get(to)).size === 1).length;
	const lastSent = Math.max(...allCalls.filter((c) => c.status === 200).map((c) => c.at));
	const failedCalls = primary.calls.filter((c) => c.status === 503);
	const firstRecovered = primary.calls.find((c) => c.status === 200 && recoveredAt !== null && c.at >= recoveredAt);
	const consumerBreakerCalls = end.breaker_calls_total - start.breaker_calls_total - polls * perPoll;
	const sentInD1 = statuses.sent ?? 0;

	result = {
		at: new Date().toISOString(),
		messages: MESSAGES,
		breaker_timeout_seconds: BREAKER_TIMEOUT_S,
		accepted: accepted.length,
		rejected_at_submit: rejected,
		d1_statuses: statuses,
		lost: accepted.length - sentInD1,
		never_answered_200: accepted.length - delivered.size,
		recipients_sent_twice: twice.length,
		recipients_sent_twice_same_idempotency_key: twiceSameKey,
		primary_calls_total: primary.calls.length,
		primary_failed_calls_total: failedCalls.length,
		primary_failed_calls_before_breaker_opened:
			openedAt === null ? null : failedCalls.filter((c) => c.at <= openedAt).length,
		primary_failed_calls_after_breaker_opened:
			openedAt === null ? null : failedCalls.filter((c) => c.at > openedAt).length,
		breaker_opened_after_ms: openedAt === null ? null : openedAt - first202,
		secondary_calls_total: secondary.calls.length,
		breaker_calls: consumerBreakerCalls,
		breaker_calls_per_delivered_message: delivered.size > 0 ? consumerBreakerCalls / delivered.size : null,
		breaker_fail_open: end.breaker_fail_open_total - start.breaker_fail_open_total,
		status_polls: polls,
		breaker_calls_per_status_poll: perPoll,
		recovered_after_ms: recoveredAt === null ? null : recoveredAt - first202,
		recovery_to_first_success_ms: firstRecovered && recoveredAt !== null ? firstRecovered.at - recoveredAt : null,
		primary_successes: primary.calls.filter((c) => c.status === 200).length,
		submit_seconds: (sendEnded - sendStarted) / 1000,
		first_202_to_last_sent_seconds: (lastSent - first202) / 1000,
		throughput_messages_per_s: delivered.size / ((lastSent - first202) / 1000),
		messages_deferred_total: end.messages_deferred_total - start.messages_deferred_total,
		messages_requeued_total: end.messages_requeued_total - start.messages_requeued_total,
	};
} catch (error) {
	console.error(tail.join("\n"));
	throw error;
} finally {
	child.kill("SIGTERM");
	await Promise.all([primary.close(), secondary.close()]);
	rmSync(dir, { recursive: true, force: true });
}

const rows = [
	["messages accepted (202)", `${result.accepted} of ${result.messages}`, ""],
	["messages lost (accepted, not sent)", result.lost, "must be 0"],
	["recipients sent twice (200 twice)", result.recipients_sent_twice, "0"],
	["calls to the failing gateway before its breaker opened", result.primary_failed_calls_before_breaker_opened, ""],
	["  … after it opened (probes during the outage)", result.primary_failed_calls_after_breaker_opened, ""],
	["breaker calls per delivered message", result.breaker_calls_per_delivered_message?.toFixed(4), "≤ 0.02"],
	["recovery → first success through it (ms)", result.recovery_to_first_success_ms, ""],
	["throughput 202 → sent (msg/s)", result.throughput_messages_per_s.toFixed(1), ""],
];
console.log(
	`\nfailover: ${result.messages} messages, primary answers 503 until half are delivered; breaker open ${BREAKER_TIMEOUT_S} s`,
);
for (const [label, value, target] of rows) console.log(`${label.padEnd(56)} ${String(value).padStart(10)}  ${target}`);
const out = join(ROOT, "bench", "results");
mkdirSync(out, { recursive: true });
const file = join(out, `failover-${result.at.replace(/[:.]/g, "-")}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`\nfull results: ${file}`);
