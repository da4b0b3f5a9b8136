// A restart finishes what a killed relay left: SIGKILL the whole `npm start` process group while the
// consumer works through a batch, start again on the same local state, and every message that has a
// row reaches a final status, none sent twice.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCron } from "../../scripts/lib/cron.mjs";
import {
	applyMigrations,
	DEMO_KEY,
	ensureDevVars,
	queryLocal,
	seedDemo,
	startWorker,
} from "../../scripts/lib/local.mjs";

const PORT = Number(process.env.MQ_TEST_PORT ?? 8790) + 1;
const BATCH = 1000;
let dir = "";
let child: ChildProcess | undefined;

async function start(): Promise<string> {
	const started = await startWorker({ port: PORT, persistTo: dir, inheritOutput: false, detached: true });
	child = started.child;
	child.stdout?.resume();
	child.stderr?.resume();
	return started.url;
}

function killGroup(signal: NodeJS.Signals): void {
	if (child?.pid) {
		try {
			process.kill(-child.pid, signal);
		} catch {
			// already gone
		}
	}
}

beforeAll(() => {
	dir = mkdtempSync(join(tmpdir(), "mq-recovery-test-"));
	ensureDevVars();
	applyMigrations(dir, { quiet: true });
	seedDemo(dir, { quiet: true });
});

afterAll(() => {
	killGroup("SIGKILL");
	if (dir) rmSync(dir, { recursive: true, force: true });
});

const statuses = () =>
	queryLocal("SELECT status, COUNT(*) AS n FROM messages GROUP BY status", dir) as { status: string; n: number }[];

describe("restart after SIGKILL", () => {
	it("brings every materialized message of a killed batch to a final status, each sent once", async () => {
		let url = await start();
		const items = Array.from({ length: BATCH }, (_, i) => ({
			from: "App <app@example.test>",
			to: [i % 10 === 0 ? `tempfail${i}@x.test` : `user${i}@x.test`],
			subject: `Message ${i}`,
			text: "Hi",
		}));
		const res = await fetch(`${url}/v1/emails/batch`, {
			method: "POST",
			headers: { authorization: `Bearer ${DEMO_KEY}`, "content-type": "application/json" },
			body: JSON.stringify(items),
		});
		expect(res.status).toBe(202);
		// Kill while the consumer is between batches' claims and outcomes.
		await new Promise((r) => setTimeout(r, 300));
		killGroup("SIGKILL");
		await new Promise((r) => setTimeout(r, 500));

		const before = statuses();
		const materialized = before.reduce((sum, s) => sum + s.n, 0);
		const unfinished = before.filter((s) => ["queued", "processing", "deferred"].includes(s.status));
		expect(materialized).toBeGreaterThan(0);

		url = await start();
		const stopCron = startCron(url, { onError: () => {} });
		try {
			const deadline = Date.now() + 180_000;
			let open = Number.POSITIVE_INFINITY;
			while (Date.now() < deadline) {
				// Deferred tempfail messages keep retrying; everything else must end sent.
				const rows = queryLocal("SELECT COUNT(*) AS n FROM messages WHERE status IN ('queued','processing')", dir) as {
					n: number;
				}[];
				open = rows[0]?.n ?? 0;
				const pending = queryLocal(
					"SELECT COUNT(*) AS n FROM message_recipients WHERE email NOT LIKE 'tempfail%' AND status NOT IN ('sent','rejected','failed')",
					dir,
				) as { n: number }[];
				if (open === 0 && (pending[0]?.n ?? 1) === 0) break;
				await new Promise((r) => setTimeout(r, 2000));
			}
			expect(open).toBe(0);
			const stuck = queryLocal(
				"SELECT COUNT(*) AS n FROM message_recipients WHERE email NOT LIKE 'tempfail%' AND status NOT IN ('sent','rejected','failed')",
				dir,
			) as { n: number }[];
			expect(stuck[0]?.n).toBe(0);
			// Tempfail recipients are not stranded either: deferred with a next attempt scheduled.
			const deferred = queryLocal(
				"SELECT COUNT(*) AS n FROM messages WHERE status = 'deferred' AND next_attempt_at IS NULL",
				dir,
			) as { n: number }[];
			expect(deferred[0]?.n).toBe(0);
			const twice = queryLocal(
				"SELECT message_id, COUNT(*) AS n FROM events WHERE type = 'sent' GROUP BY message_id, recipient HAVING n > 1",
				dir,
			);
			expect(twice).toEqual([]);
			console.log(
				`recovery: ${materialized} of ${BATCH} materialized before SIGKILL, unfinished then: ${JSON.stringify(unfinished)}`,
			);
		} finally {
			stopCron();
		}
	}, 300_000);
});
