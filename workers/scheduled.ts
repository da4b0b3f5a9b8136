// The cron entrypoint (every minute, wrangler.toml): the recovery sweep and gateway health checks,
// side by side so neither's failure stops the other; scheduled sends, recurring jobs and retention
// hook in here as their issues land. `npm start`
// ticks it locally (wrangler dev runs no cron by itself), and once at start-up with the cron
// `@startup`, which in development means "no consumer is alive": everything unfinished is orphaned.
import { sweepAllOrphans, sweepStranded } from "../src/domain/delivery/recovery";
import { runHealthChecks } from "../src/domain/gateway-health";
import { type Config, type Env, loadConfig } from "../src/env";
import { errorSummary } from "../src/lib/log";

export const STARTUP_CRON = "@startup";

export async function handleScheduled(controller: ScheduledController, env: Env): Promise<void> {
	const config = loadConfig(env);
	const deps = {
		db: env.DB,
		sendQueue: env.SEND_QUEUE,
		events: { events: env.EVENTS_QUEUE, webhooks: env.WEBHOOKS_QUEUE },
	};
	const health = checkGatewayHealth(env, config.ENCRYPTION_KEY, config.ENVIRONMENT);
	try {
		const startup = controller.cron === STARTUP_CRON && config.ENVIRONMENT === "development";
		const result = startup ? await sweepAllOrphans(deps, Date.now()) : await sweepStranded(deps, Date.now());
		if (startup || result.redriven > 0 || result.enqueueFailures > 0) {
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
	} catch (error) {
		console.error("cron: recovery sweep failed", { cron: controller.cron, error: errorSummary(error) });
		throw error;
	} finally {
		await health;
	}
}

/** Never rejects: a failed run is logged and the gateways are simply checked on the next tick. */
async function checkGatewayHealth(env: Env, encryptionKey: string, environment: Config["ENVIRONMENT"]): Promise<void> {
	try {
		const context = {
			bodies: env.BODIES,
			fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init),
			environment,
		};
		const run = await runHealthChecks({ db: env.DB, encryptionKey, context }, Date.now());
		if (run.failed > 0 || run.markedUnhealthy.length > 0) {
			console.log(
				`health checks: ${run.checked} checked, ${run.failed} failed, ${run.markedUnhealthy.length} marked unhealthy`,
			);
		}
	} catch (error) {
		console.error("cron: gateway health checks failed", { error: errorSummary(error) });
	}
}
