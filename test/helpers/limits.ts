// Moving a WorkspaceLimiter's clock: its counted units are shifted into the past, as time passing
// would, so tests of windows rolling over need no fake timers in the Worker.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { limiterName } from "../../src/domain/rate-limits/model";
import { getStub } from "../../src/lib/durable-objects";

/** Moves every counted unit of the workspace `ms` into the past, as the clock moving on would. */
export async function age(workspaceId: string, ms: number): Promise<void> {
	const stub = getStub(env.WORKSPACE_LIMITER, limiterName(workspaceId));
	await runInDurableObject(stub, (_instance, state) => {
		const rows = state.storage.sql
			.exec<{ key: string; slice: number; window: string }>("SELECT key, slice, window FROM counters")
			.toArray();
		const sliceMs: Record<string, number> = { second: 50, minute: 1000, hour: 60_000, day: 900_000 };
		for (const r of rows) {
			const shift = Math.ceil(ms / (sliceMs[r.window] ?? 1));
			state.storage.sql.exec(
				"UPDATE counters SET slice = slice - ?3, expires_at = expires_at - ?4 WHERE key = ?1 AND slice = ?2",
				r.key,
				r.slice,
				shift,
				ms,
			);
		}
	});
}

/** Makes the workspace's deferred rows due now, as their `next_attempt_at` arriving would. */
export async function dueNow(workspaceId: string): Promise<void> {
	await env.DB.prepare("UPDATE messages SET next_attempt_at = ? WHERE workspace_id = ? AND status = 'deferred'")
		.bind(Date.now() - 1, workspaceId)
		.run();
}
