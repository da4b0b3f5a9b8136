// The cron's purge of deleted workspaces (DELETE /v1/platform/workspaces/{id} only suspends and marks
// one). It starts PURGE_GRACE_MS after the request, when no key of the workspace is cached anywhere
// and no delivery claimed before the suspension can still be writing, then deletes in bounded rounds
// per run: rows (repositories/purge.ts), then R2 objects under `<kind>/<workspace>/`, progress
// recorded on the workspace, and last the workspace row itself. It never throws: the cron's other
// work goes on whatever happens here.
import { purgeRound, recordPurgeProgress, workspacesToPurge } from "../../db/repositories/purge";
import { errorSummary } from "../../lib/log";
import { MINUTE } from "../../lib/time";
import { forgetPrincipals, PRINCIPAL_CACHE_MS } from "../auth/principal";
import { LEASE_MS } from "../delivery/retry";

export const PURGE_GRACE_MS = Math.max(LEASE_MS, PRINCIPAL_CACHE_MS) + MINUTE;
/** Rows per table per round: each round is one D1 transaction of at most this × the tables. */
export const PURGE_BATCH_ROWS = 500;
/** Rounds per cron run, over all workspaces being purged. */
export const PURGE_ROUNDS_PER_RUN = 20;
/** R2 pages (list + delete of up to 1,000 keys) per cron run. */
export const PURGE_OBJECT_PAGES_PER_RUN = 10;
const R2_PAGE = 1000;

export type PurgeDeps = { db: D1Database; bodies: R2Bucket };

export type PurgeReport = { workspaceId: string; rows: number; objects: number; finished: boolean };

export async function purgeDeletedWorkspaces(deps: PurgeDeps, now: number): Promise<PurgeReport[]> {
	const reports: PurgeReport[] = [];
	try {
		const budget = { rounds: PURGE_ROUNDS_PER_RUN, pages: PURGE_OBJECT_PAGES_PER_RUN };
		for (const workspaceId of await workspacesToPurge(deps.db, now - PURGE_GRACE_MS, 10)) {
			if (budget.rounds <= 0) break;
			const report = await purgeOne(deps, workspaceId, budget, now);
			reports.push(report);
			console.log(
				`workspace purge: ${workspaceId} rows=${report.rows} objects=${report.objects} finished=${report.finished}`,
			);
		}
	} catch (error) {
		console.error("workspace purge failed; the next run continues", { error: errorSummary(error) });
	}
	return reports;
}

type Budget = { rounds: number; pages: number };

async function purgeOne(deps: PurgeDeps, workspaceId: string, budget: Budget, now: number): Promise<PurgeReport> {
	let rows = 0;
	let rowsLeft = true;
	while (budget.rounds > 0) {
		budget.rounds--;
		const round = await purgeRound(deps.db, workspaceId, PURGE_BATCH_ROWS);
		rows += round.rows;
		if (round.rows === 0) {
			rowsLeft = false;
			break;
		}
	}
	const { objects, objectsLeft } = await purgeObjects(deps.bodies, workspaceId, budget);
	let finished = false;
	if (!rowsLeft && !objectsLeft) {
		const last = await purgeRound(deps.db, workspaceId, PURGE_BATCH_ROWS, true);
		rows += last.rows;
		finished = last.finished;
		if (finished) forgetPrincipals((p) => p.workspaceId === workspaceId);
	}
	if (!finished) await recordPurgeProgress(deps.db, workspaceId, rows, objects, now);
	return { workspaceId, rows, objects, finished };
}

/** Deletes the workspace's objects under every top-level kind of key (content/, mime/, …). */
async function purgeObjects(bodies: R2Bucket, workspaceId: string, budget: Budget) {
	let objects = 0;
	const top = await bodies.list({ delimiter: "/", limit: R2_PAGE });
	for (const kind of top.delimitedPrefixes) {
		const prefix = `${kind}${workspaceId}/`;
		while (true) {
			if (budget.pages <= 0) return { objects, objectsLeft: true };
			budget.pages--;
			const page = await bodies.list({ prefix, limit: R2_PAGE });
			if (page.objects.length === 0) break;
			await bodies.delete(page.objects.map((o) => o.key));
			objects += page.objects.length;
			if (!page.truncated) break;
		}
	}
	return { objects, objectsLeft: false };
}
