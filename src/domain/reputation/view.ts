// GET and PATCH /v1/reputation (docs/reputation.md): the rates over 24 h and 7 d computed now from
// the hourly counters, the state the cron last decided and since when, and the settings in force.
import {
	findReputationSettings,
	findState,
	workspaceSums,
	writeReputationSettings,
} from "../../db/repositories/reputation";
import type { ReputationState } from "../../db/schema";
import { ApiError, err, ok, type Result } from "../../errors";
import { iso } from "../../lib/time";
import { countsOfRow } from "./evaluate";
import {
	assess,
	type Counts,
	type ReputationPatch,
	type ReputationSettings,
	rate,
	reputationPatchSchema,
	reputationSettingsOf,
	settingsProblem,
	windowStart,
} from "./model";

type WindowView = Counts & { bounce_rate: number | null; complaint_rate: number | null };

export type ReputationView = {
	state: ReputationState;
	since: string | null;
	reason: string | null;
	/** While throttled, the per-minute rate new sends are held to; null otherwise. */
	throttled_to_per_minute: number | null;
	/** What the rates say now; the state follows at the next cron tick (every minute). */
	assessment: { level: "ok" | "warning" | "throttle"; window: "24h" | "7d" | null };
	windows: { "24h": WindowView; "7d": WindowView };
	settings: ReputationSettings;
};

function windowView(c: Counts): WindowView {
	return { ...c, bounce_rate: rate(c.bounced, c.sent), complaint_rate: rate(c.complained, c.sent) };
}

export async function reputationOf(db: D1Database, workspaceId: string, now: number): Promise<Result<ReputationView>> {
	const [stored, state, sums] = await Promise.all([
		findReputationSettings(db, workspaceId),
		findState(db, workspaceId),
		workspaceSums(db, workspaceId, windowStart("7d", now), windowStart("24h", now)),
	]);
	if (!stored) return err(new ApiError("not_found", "No such workspace."));
	const settings = reputationSettingsOf(stored.stored);
	const counts = countsOfRow(sums);
	const a = assess(counts, settings);
	const current = state?.state ?? "ok";
	return ok({
		state: current,
		since: iso(state?.since ?? null),
		reason: state?.reason ?? null,
		throttled_to_per_minute: current === "throttled" ? settings.throttle_per_minute : null,
		assessment: { level: a.level, window: a.window },
		windows: { "24h": windowView(counts["24h"]), "7d": windowView(counts["7d"]) },
		settings,
	});
}

/** Changes some settings, keeps the others; refuses a warning threshold above its throttle threshold. */
export async function changeReputation(
	db: D1Database,
	workspaceId: string,
	patch: ReputationPatch,
	now: number,
): Promise<Result<ReputationView>> {
	const stored = await findReputationSettings(db, workspaceId);
	if (!stored) return err(new ApiError("not_found", "No such workspace."));
	// Only values a workspace set are stored, so a default changed later still reaches the others.
	const before = reputationPatchSchema.safeParse(stored.stored);
	const values: Record<string, number> = {};
	for (const [k, v] of Object.entries({ ...(before.success ? before.data : {}), ...patch }))
		if (v !== undefined) values[k] = v;
	const problem = settingsProblem(reputationSettingsOf(values));
	if (problem) return err(new ApiError("validation_error", problem.message, [problem]));
	if (!(await writeReputationSettings(db, workspaceId, values, now)))
		return err(new ApiError("not_found", "No such workspace."));
	return reputationOf(db, workspaceId, now);
}
