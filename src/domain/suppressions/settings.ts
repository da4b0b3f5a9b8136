// The workspace's automatic-suppression rule for soft bounces (docs/suppressions.md): how many soft
// bounces within how many days put an address on the list. Kept in workspaces.settings.suppression,
// which recordFeedback's SQL reads (db/repositories/feedback.ts).
import { SOFT_BOUNCE_LIMIT, SOFT_BOUNCE_WINDOW_DAYS } from "../../db/repositories/feedback";
import { readSuppressionSettings, writeSuppressionSettings } from "../../db/repositories/suppressions";
import { ApiError, err, ok, type Result } from "../../errors";

export type SuppressionSettings = { soft_bounce_limit: number; soft_bounce_window_days: number };

const missing = () => err(new ApiError("not_found", "The workspace of this API key no longer exists."));

function withDefaults(stored: string | null): SuppressionSettings {
	const parsed = stored ? (JSON.parse(stored) as Partial<SuppressionSettings>) : {};
	return {
		soft_bounce_limit: parsed.soft_bounce_limit ?? SOFT_BOUNCE_LIMIT,
		soft_bounce_window_days: parsed.soft_bounce_window_days ?? SOFT_BOUNCE_WINDOW_DAYS,
	};
}

export async function suppressionSettingsOf(
	db: D1Database,
	workspaceId: string,
): Promise<Result<SuppressionSettings, ApiError>> {
	const stored = await readSuppressionSettings(db, workspaceId);
	return stored === undefined ? missing() : ok(withDefaults(stored));
}

export async function putSuppressionSettings(
	db: D1Database,
	workspaceId: string,
	settings: SuppressionSettings,
	now = Date.now(),
): Promise<Result<SuppressionSettings, ApiError>> {
	return (await writeSuppressionSettings(db, workspaceId, settings, now)) ? ok(settings) : missing();
}
