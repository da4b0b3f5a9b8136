// The cron entrypoint (every minute, wrangler.toml). Scheduled sends, recurring jobs, retention and
// gateway health checks hook in here as their issues land; today it checks the configuration and
// that D1 answers, so a broken deployment shows up in the cron logs within a minute.
import { type Env, loadConfig } from "../src/env";

export async function handleScheduled(controller: ScheduledController, env: Env): Promise<void> {
	loadConfig(env);
	try {
		await env.DB.prepare("SELECT 1").first();
	} catch (error) {
		console.error("cron: D1 unreachable", { cron: controller.cron, error: String(error) });
		throw error;
	}
}
