// `npm run bench:recovery`: what one recovery sweep costs D1 as the backlog of unfinished messages
// grows. For each size, a fresh local state holds that many non-final rows (all of them waiting
// correctly, with a live lease or a future due time) plus the same 100 stranded rows; the relay runs
// under wrangler dev and one cron tick runs the sweep. Reported from D1's own figures for the sweep's
// candidate statements (rows read, D1 time), which the Worker logs. Both sizes must cost about the same.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tickScheduled } from "../../scripts/lib/cron.mjs";
import { applyMigrations, ensureDevVars, ROOT, seedDemo, startWorker } from "../../scripts/lib/local.mjs";

const PORT = 8793;
const SIZES = [100, 100_000];
const STRANDED = 100;

function seedRows(dir, waiting) {
	const now = Date.now();
	// Waiting rows: half under a live lease, half deferred to the future; stranded ones: deferred long overdue.
	const sql = `
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${waiting})
INSERT INTO messages (id, workspace_id, from_email, subject, status, lease_token, lease_expires_at, next_attempt_at, created_at)
SELECT printf('WAIT%022d', i), 'ws_demo', 'app@example.test', 'bench',
  CASE WHEN i % 2 = 0 THEN 'processing' ELSE 'deferred' END,
  CASE WHEN i % 2 = 0 THEN 'live' END,
  CASE WHEN i % 2 = 0 THEN ${now + 3_600_000} END,
  CASE WHEN i % 2 = 0 THEN NULL ELSE ${now + 3_600_000} + i END,
  ${now - 60_000} FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${STRANDED})
INSERT INTO messages (id, workspace_id, from_email, subject, status, next_attempt_at, created_at)
SELECT printf('LOST%022d', i), 'ws_demo', 'app@example.test', 'bench', 'deferred', ${now - 3_600_000} + i, ${now - 7_200_000} FROM n;
`;
	const file = join(dir, "rows.sql");
	writeFileSync(file, sql);
	const r = spawnSync(
		join(ROOT, "node_modules", ".bin", "wrangler"),
		["d1", "execute", "DB", "--local", "--persist-to", dir, "--file", file, "--yes"],
		{
			cwd: ROOT,
			encoding: "utf8",
			env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
		},
	);
	if (r.status !== 0) throw new Error(r.stderr);
}

async function measure(waiting) {
	const dir = mkdtempSync(join(tmpdir(), "mq-bench-recovery-"));
	try {
		applyMigrations(dir, { quiet: true });
		seedDemo(dir, { quiet: true });
		seedRows(dir, waiting);
		const { child, url } = await startWorker({ port: PORT, persistTo: dir, inheritOutput: false });
		const lines = [];
		child.stdout.on("data", (d) => lines.push(...String(d).split("\n")));
		child.stderr.resume();
		let run;
		try {
			const started = performance.now();
			await tickScheduled(url);
			const wallMs = Math.round(performance.now() - started);
			let line;
			for (let i = 0; i < 50 && !line; i++) {
				line = lines.find((l) => l.includes("recovery sweep:"));
				if (!line) await new Promise((r) => setTimeout(r, 100));
			}
			const field = (name) => Number(line?.match(new RegExp(`${name}=([\\d.]+)`))?.[1] ?? Number.NaN);
			run = {
				wallMs,
				redriven: Number(line?.match(/re-drove (\d+)/)?.[1] ?? Number.NaN),
				rowsRead: field("rows_read"),
				d1Ms: field("d1_ms"),
			};
		} finally {
			child.kill("SIGTERM");
		}
		return { waiting, ...run };
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

ensureDevVars();
const results = [];
for (const size of SIZES) results.push(await measure(size));
console.log("\nrecovery sweep, one cron tick (D1's own figures for the sweep's candidate statements)");
console.log("non-final rows | re-driven | rows read | D1 ms | tick wall ms");
for (const r of results) {
	const cells = [r.waiting + STRANDED, r.redriven, r.rowsRead, r.d1Ms, r.wallMs].map((v, i) =>
		String(v).padStart(i === 0 ? 14 : 9),
	);
	console.log(cells.join(" | "));
}
const [small, large] = results;
console.log(
	`\nratio ${large.waiting + STRANDED} rows ÷ ${small.waiting + STRANDED} rows: rows read ${(large.rowsRead / small.rowsRead).toFixed(2)}, D1 time ${(large.d1Ms / Math.max(small.d1Ms, 0.001)).toFixed(2)}, tick wall time ${(large.wallMs / small.wallMs).toFixed(2)}`,
);
