// GET /api/rate-limit (seed 000's ops view) over the same domain code as /v1/rate-limits: the
// workspace's limits and usage from its WorkspaceLimiter, and what it and each sender sent in the
// last 24 h from D1, in the seed's shape.
import { sentSinceBySender } from "../../db/repositories/rate-limits";
import { type ApiError, ok, type Result } from "../../errors";
import { ulid } from "../../lib/ids";
import { DAY } from "../../lib/time";
import { getLimits, type LimitDeps, type LimitView } from "./settings";

/** Mail is sent within its maximum age (72 h), so nothing sent today was created before this. */
const OLDEST_CREATED_MS = 4 * DAY;

export type SenderSummary = { sent: number; limit: number | null };

export type RateLimitSummary = {
	total_sent_today: number;
	workspace_count: number;
	workspaces: Record<
		string,
		{ sent: number; limit: number | null; remaining: number | null; users: Record<string, SenderSummary> }
	>;
};

function dayLimit(limits: readonly LimitView[], scope: "workspace" | "sender", key?: string): LimitView | undefined {
	return limits.find((l) => l.scope === scope && l.window === "day" && l.key === key);
}

export async function rateLimitSummary(
	deps: LimitDeps,
	workspaceId: string,
	now = Date.now(),
): Promise<Result<RateLimitSummary, ApiError>> {
	const [limits, senders] = await Promise.all([
		getLimits(deps, workspaceId),
		sentSinceBySender(deps.db, workspaceId, now - DAY, ulid(now - OLDEST_CREATED_MS).slice(0, 10)),
	]);
	if (!limits.ok) return limits;
	const total = senders.reduce((sum, s) => sum + s.sent, 0);
	const workspace = dayLimit(limits.value, "workspace");
	const users: Record<string, SenderSummary> = {};
	for (const s of senders) {
		const own = dayLimit(limits.value, "sender", s.sender) ?? dayLimit(limits.value, "sender");
		users[s.sender] = { sent: s.sent, limit: own?.limit ?? null };
	}
	// Senders with an override of their own are listed even before they sent anything today.
	for (const l of limits.value)
		if (l.scope === "sender" && l.window === "day" && l.key && !users[l.key])
			users[l.key] = { sent: 0, limit: l.limit };
	return ok({
		total_sent_today: total,
		workspace_count: 1,
		workspaces: {
			[workspaceId]: {
				sent: total,
				limit: workspace?.limit ?? null,
				remaining: workspace ? workspace.remaining : null,
				users,
			},
		},
	});
}
