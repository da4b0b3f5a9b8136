// bench/limits: 50,000 messages from 20 workspaces through the WorkspaceLimiter, in consumer batches
// of 100 (reserveForBatch, then release of what was not sent, exactly as the send consumer calls
// them), four batches at a time as parallel consumers would. Two arrival orders: grouped (each
// workspace's mail arrives together, as the batch API enqueues it) and interleaved (every batch mixes
// all 20 workspaces, the worst case), and grouped again with global (platform) limits configured. Reports limiter calls per message (from the
// `limiter_calls_total` counter) and the time the limiter step adds to a batch, p50/p99. Then the
// whole consumer on the same 2,000 messages with and without the limiter, for the added latency as a
// ratio. Figures go to stdout; nothing is asserted.
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { type LimitItem, reserveForBatch } from "../../src/domain/delivery/limits";
import { pushLimiterConfig } from "../../src/domain/queues/config";
import { putPlatformLimits } from "../../src/domain/rate-limits/platform";
import { counters } from "../../src/lib/metrics";
import { job } from "../../test/helpers/delivery";
import { RecordingQueue, runQueue } from "../../test/helpers/worker";
import { createWorkspace } from "../../test/helpers/workspace";

const MESSAGES = 50_000;
const WORKSPACES = 20;
const BATCH = 100;
const PARALLEL = 4;

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function setUp(): Promise<string[]> {
	const ids: string[] = [];
	for (let w = 0; w < WORKSPACES; w++) {
		const ws = await createWorkspace();
		// Limits at three levels, so every reservation does real work; the hour limit defers some mail.
		await env.DB.batch([
			env.DB.prepare(
				`INSERT INTO rate_limits (id, workspace_id, scope, key, window, "limit", kind) VALUES
				 (?1 || ':1', ?1, 'workspace', NULL, 'hour', 2000, 'soft'),
				 (?1 || ':2', ?1, 'workspace', NULL, 'day', 100000, 'hard'),
				 (?1 || ':3', ?1, 'sender', NULL, 'day', 50000, 'soft')`,
			).bind(ws.id),
		]);
		await pushLimiterConfig(env.DB, env.WORKSPACE_LIMITER, ws.id);
		ids.push(ws.id);
	}
	return ids;
}

function batches(workspaces: string[], order: "grouped" | "interleaved", tag: string): LimitItem[][] {
	const perWs = MESSAGES / workspaces.length;
	const items: LimitItem[] = [];
	for (let i = 0; i < MESSAGES; i++) {
		const w = order === "grouped" ? Math.floor(i / perWs) : i % workspaces.length;
		const workspaceId = workspaces[w] ?? "";
		items.push({ id: `${tag}${i}`, workspaceId, sender: `sender${i % 5}@bench.test`, queueId: null });
	}
	const out: LimitItem[][] = [];
	for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH));
	return out;
}

async function runOrder(workspaces: string[], order: "grouped" | "interleaved", global = false) {
	const list = batches(workspaces, order, `${order}-`);
	const before = counters.limiter_calls_total;
	const times: number[] = [];
	let deferred = 0;
	let reserveCalls = 0;
	let next = 0;
	const started = performance.now();
	await Promise.all(
		Array.from({ length: PARALLEL }, async () => {
			for (let b = next++; b < list.length; b = next++) {
				const batch = list[b] ?? [];
				const t0 = performance.now();
				const limits = await reserveForBatch(env.WORKSPACE_LIMITER, batch, Date.now(), { global });
				// As the consumer does after outcomes: a few granted messages were not sent (1 in 50 here).
				await limits.release(batch.filter((_, i) => i % 50 === 0).map((m) => m.id));
				// One reserve per workspace in the batch; the rest of the counter's calls are releases.
				reserveCalls += new Set(batch.map((m) => m.workspaceId)).size + (global ? 1 : 0);
				times.push(performance.now() - t0);
				deferred += batch.filter((m) => limits.instead(m.id) !== null).length;
			}
		}),
	);
	const calls = counters.limiter_calls_total - before;
	times.sort((a, b) => a - b);
	return {
		order: global ? `${order}, with a global limit` : order,
		messages: MESSAGES,
		batches: list.length,
		limiter_calls: calls,
		calls_per_message: calls / MESSAGES,
		reserve_calls_per_message: reserveCalls / MESSAGES,
		held_or_rejected: deferred,
		limiter_ms_per_batch: { p50: percentile(times, 50), p99: percentile(times, 99) },
		wall_s: (performance.now() - started) / 1000,
	};
}

async function consumerRun(limiter: boolean) {
	const ws = await createWorkspace();
	const times: number[] = [];
	for (let b = 0; b < 20; b++) {
		const jobs = await Promise.all(Array.from({ length: BATCH }, () => job(ws.id, ws.domain)()));
		const t0 = performance.now();
		await runQueue("mq-send", jobs, {
			SEND_QUEUE: new RecordingQueue(),
			...(limiter ? {} : { WORKSPACE_LIMITER: undefined }),
		} as Parameters<typeof runQueue>[2]);
		times.push(performance.now() - t0);
	}
	times.sort((a, b) => a - b);
	return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

it("bench: limits", async () => {
	// Each order gets its own 20 workspaces, so neither starts with windows the other filled.
	const grouped = await runOrder(await setUp(), "grouped");
	const interleaved = await runOrder(await setUp(), "interleaved");
	// The same grouped run with global (platform) limits configured: one more reserve per batch, to
	// the `global` instance, in parallel with the workspace's; its give-backs ride on the next one.
	const deps = { db: env.DB, limiter: env.WORKSPACE_LIMITER };
	await putPlatformLimits(deps, [
		{ window: "hour", limit: 10_000_000, kind: "soft" },
		{ window: "day", limit: 100_000_000, kind: "hard" },
	]);
	const groupedGlobal = await runOrder(await setUp(), "grouped", true);
	await putPlatformLimits(deps, []);
	// Warm both paths once, then measure alternately so machine noise hits both.
	await consumerRun(true);
	const without = await consumerRun(false);
	const withLimiter = await consumerRun(true);
	const result = {
		grouped,
		interleaved,
		grouped_global: groupedGlobal,
		consumer_batch_ms: {
			without_limiter: without,
			with_limiter: withLimiter,
			ratio_p50: withLimiter.p50 / without.p50,
		},
	};
	console.log(`BENCH_LIMITS ${JSON.stringify(result, null, 2)}`);
});
