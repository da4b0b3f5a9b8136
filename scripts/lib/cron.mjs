// wrangler dev runs no cron trigger by itself: `npm start` ticks the Worker's scheduled handler through
// wrangler's /cdn-cgi/handler/scheduled, once at start-up (cron `@startup`: the recovery sweep treats
// every unfinished message as orphaned, since no consumer of this fresh process holds any) and then
// once a minute, as the `* * * * *` trigger of wrangler.toml would in production.

export const STARTUP_CRON = "@startup";
const MINUTE_CRON = "* * * * *";

export async function tickScheduled(url, cron = MINUTE_CRON) {
	const res = await fetch(`${url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)}`);
	await res.text();
	if (!res.ok) throw new Error(`scheduled handler answered ${res.status}`);
}

/** Ticks once now with `@startup`, then every minute; returns a function that stops the ticks. */
export function startCron(url, { onError = (e) => console.error(`cron tick failed: ${e.message}`) } = {}) {
	tickScheduled(url, STARTUP_CRON).catch(onError);
	const timer = setInterval(() => tickScheduled(url).catch(onError), 60_000);
	timer.unref();
	return () => clearInterval(timer);
}
