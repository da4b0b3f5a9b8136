// The cron entrypoint (every minute, wrangler.toml). Each task runs on its own, so one failing does
// not skip the others: the recovery sweep, the purge of deleted workspaces, the re-check of
// sending domains, the gateway health checks and the reputation states; scheduled sends and retention join this list as
// their issues land. `npm start` ticks it locally (wrangler dev runs no cron by itself), and once at
// start-up with the cron `@startup`, which in development means "no consumer is alive": everything
// unfinished is orphaned.

import { createDb } from "../src/db/client";
import { type SweepResult, sweepAllOrphans, sweepStranded } from "../src/domain/delivery/recovery";
import { recheckDueDomains } from "../src/domain/domain-checks/verify";
import { runHealthChecks } from "../src/domain/gateway-health";
import { sendQueues } from "../src/domain/messages/bands";
import { purgeDeletedWorkspaces } from "../src/domain/platform/purge";
import { evaluateReputation } from "../src/domain/reputation/evaluate";
import { type Env, loadConfig } from "../src/env";
import { errorSummary } from "../src/lib/log";

export const STARTUP_CRON = "@startup";

function logSweep(result: SweepResult, always: boolean): void {
	if (!always && result.redriven === 0 && result.enqueueFailures === 0) return;
	const detail = {
		...result.byReason,
		enqueue_failures: result.enqueueFailures,
		rows_read: result.rowsRead,
		d1_ms: result.d1Ms,
	};
	// One plain line: `key=value` pairs read the same in wrangler's terminal and in log search.
	const fields = Object.entries(detail)
		.map(([k, v]) => `${k}=${v}`)
		.join(" ");
	console.log(`recovery sweep: re-drove ${result.redriven} message(s) ${fields}`);
}

export async function handleScheduled(controller: ScheduledController, env: Env): Promise<void> {
	const config = loadConfig(env);
	const events = { events: env.EVENTS_QUEUE, webhooks: env.WEBHOOKS_QUEUE };
	const startup = controller.cron === STARTUP_CRON && config.ENVIRONMENT === "development";
	const tasks: Record<string, () => Promise<unknown>> = {
		recovery: async () => {
			const deps = { db: env.DB, sendQueue: sendQueues(env), events };
			logSweep(startup ? await sweepAllOrphans(deps, Date.now()) : await sweepStranded(deps, Date.now()), startup);
		},
		purge: () => purgeDeletedWorkspaces({ db: env.DB, bodies: env.BODIES }, Date.now()),
		reputation: async () => {
			const run = await evaluateReputation({ db: env.DB, events }, Date.now());
			if (run.events > 0) console.log(`reputation: ${run.events} state change(s) of ${run.evaluated} workspace(s)`);
		},
		domains: () =>
			recheckDueDomains(
				{
					db: createDb(env.DB),
					events,
					dns: { url: config.DOH_URL, timeoutMs: config.DOH_TIMEOUT_MS, fetch: (i, o) => fetch(i, o) },
					inboundMxHost: config.INBOUND_MX_HOST,
				},
				Date.now(),
			),
		health: async () => {
			const context = {
				bodies: env.BODIES,
				fetch: (i: RequestInfo | URL, o?: RequestInit) => fetch(i, o),
				environment: config.ENVIRONMENT,
			};
			const run = await runHealthChecks({ db: env.DB, encryptionKey: config.ENCRYPTION_KEY, context }, Date.now());
			if (run.failed > 0 || run.markedUnhealthy.length > 0) {
				console.log(
					`health checks: ${run.checked} checked, ${run.failed} failed, ${run.markedUnhealthy.length} marked unhealthy`,
				);
			}
		},
	};
	const names = Object.keys(tasks);
	const settled = await Promise.allSettled(Object.values(tasks).map((run) => run()));
	const failed = settled.flatMap((s, i) => (s.status === "rejected" ? [{ task: names[i], error: s.reason }] : []));
	for (const f of failed)
		console.error("cron task failed", { cron: controller.cron, task: f.task, error: errorSummary(f.error) });
	// A failed task fails the invocation, so it shows in the cron's own status, after the others ran.
	if (failed[0]) throw failed[0].error;
}
