// bench/reputation: what reputation counting costs, two ways (docs/reputation.md "Why counters").
// Write side: a consumer-sized batch of 100 `sent` events inserted as recordOutcomes does, with and
// without the reputationIncrements statement in the same batch. Read side: the cron's evaluation over
// 20 workspaces with 7 days of events, from the hourly counters versus counting event rows through
// the events_workspace_type index. Reports ms and D1's rows_read / rows_written; asserts nothing.
import { env } from "cloudflare:workers";
import { it } from "vitest";
import type { EventRow } from "../../src/db/repositories/events";
import { evaluationRows, reputationIncrements } from "../../src/db/repositories/reputation";
import { hourOf, windowStart } from "../../src/domain/reputation/model";
import { createWorkspace } from "../../test/helpers/workspace";

const WORKSPACES = 20;
const EVENTS_PER_WORKSPACE = 10_000; // 200,000 events over 7 days
const BATCHES = 100;

const INSERT_EVENTS = `INSERT INTO events (id, workspace_id, message_id, recipient, type, data, created_at)
	SELECT json_extract(value,'$.id'), json_extract(value,'$.workspace_id'), json_extract(value,'$.message_id'),
	  json_extract(value,'$.recipient'), json_extract(value,'$.type'), json_extract(value,'$.data'), json_extract(value,'$.created_at')
	FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING`;

function events(workspaceId: string, n: number, at: (i: number) => number, prefix: string): EventRow[] {
	return Array.from({ length: n }, (_, i) => {
		const bounce = i % 40 === 0;
		return {
			id: `${prefix}:${workspaceId}:${i}`,
			workspace_id: workspaceId,
			message_id: null,
			recipient: `r${i}@x.test`,
			type: bounce ? "bounced" : "sent",
			data: bounce ? '{"kind":"hard_bounce","reason":"user_unknown"}' : '{"attempt":1}',
			created_at: at(i),
		};
	});
}

function median(xs: number[]): number {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.floor(s.length / 2)] ?? 0;
}

it("reputation counting: counters in the write batch vs counting event rows in the cron", async () => {
	const ws = await Promise.all(Array.from({ length: WORKSPACES }, () => createWorkspace({ gateway: false })));
	const now = Date.now();

	// Write side.
	const write: Record<"without" | "with", { ms: number[]; written: number[] }> = {
		without: { ms: [], written: [] },
		with: { ms: [], written: [] },
	};
	for (let b = 0; b < BATCHES; b++) {
		for (const mode of ["without", "with"] as const) {
			const rows = events(ws[b % WORKSPACES]?.id ?? "", 100, () => now, `w${mode}${b}`);
			const statements = [env.DB.prepare(INSERT_EVENTS).bind(JSON.stringify(rows))];
			if (mode === "with") statements.unshift(reputationIncrements(env.DB, rows, "new"));
			const t0 = performance.now();
			const results = await env.DB.batch(statements);
			write[mode].ms.push(performance.now() - t0);
			write[mode].written.push(results.reduce((sum, r) => sum + (r.meta.rows_written ?? 0), 0));
		}
	}

	// Read side: 7 days of events per workspace, and the same counts in the hourly counters.
	for (const w of ws) {
		const rows = events(w.id, EVENTS_PER_WORKSPACE, (i) => now - (i % 168) * 3_600_000, "r");
		for (let i = 0; i < rows.length; i += 2000) {
			const chunk = rows.slice(i, i + 2000);
			await env.DB.batch([
				reputationIncrements(env.DB, chunk, "new"),
				env.DB.prepare(INSERT_EVENTS).bind(JSON.stringify(chunk)),
			]);
		}
	}
	const from7 = windowStart("7d", now);
	const from24 = windowStart("24h", now);
	const fromMs7 = from7 * 3_600_000;
	const fromMs24 = from24 * 3_600_000;
	const ids = JSON.stringify(ws.map((w) => w.id));
	const byCounters: number[] = [];
	const byEvents: number[] = [];
	let countersRead = 0;
	let eventsRead = 0;
	for (let r = 0; r < 10; r++) {
		let t0 = performance.now();
		await evaluationRows(env.DB, from7, from24);
		byCounters.push(performance.now() - t0);
		const c = await env.DB.prepare(
			"SELECT workspace_id, SUM(sent) FROM reputation_counters WHERE hour >= ?1 GROUP BY workspace_id",
		)
			.bind(from7)
			.run();
		countersRead = c.meta.rows_read ?? 0;
		t0 = performance.now();
		const e = await env.DB.prepare(
			`SELECT workspace_id, type, COUNT(*) AS n7, SUM(created_at >= ?3) AS n24,
			   SUM(type = 'rejected' AND json_extract(data, '$.kind') = 'reject') AS rejects
			 FROM events WHERE workspace_id IN (SELECT value FROM json_each(?1))
			   AND type IN ('sent', 'bounced', 'rejected', 'complained') AND created_at >= ?2
			 GROUP BY workspace_id, type`,
		)
			.bind(ids, fromMs7, fromMs24)
			.run();
		byEvents.push(performance.now() - t0);
		eventsRead = e.meta.rows_read ?? 0;
	}
	const figures = {
		write_batch_100_events: {
			without_ms_p50: median(write.without.ms).toFixed(2),
			with_ms_p50: median(write.with.ms).toFixed(2),
			rows_written_without: median(write.without.written),
			rows_written_with: median(write.with.written),
		},
		cron_read_20_workspaces_200k_events: {
			counters_ms_p50: median(byCounters).toFixed(2),
			counters_rows_read: countersRead,
			events_index_ms_p50: median(byEvents).toFixed(2),
			events_rows_read: eventsRead,
		},
		hour: hourOf(now),
	};
	console.log(`reputation bench: ${JSON.stringify(figures, null, 2)}`);
});
