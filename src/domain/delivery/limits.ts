// Rate limits in the send consumer (docs/rate-limits.md): one WorkspaceLimiter call per workspace of a
// queue batch, right after the claim and before any delivery, says per message go / hold until T /
// reject; after the outcomes, the units of messages that were not sent are given back in one more
// call per workspace that has any. A held message is not a delivery attempt (outcome.ts "held").
import type { ClaimedRow, ContentRow } from "../../db/repositories/delivery";
import type { Env } from "../../env";
import { getStub } from "../../lib/durable-objects";
import { errorSummary } from "../../lib/log";
import { count } from "../../lib/metrics";
import type { AcceptedMessage } from "../messages/model";
import { type Decision, limiterName, type ReserveItem, type ReserveResult, senderKey } from "../rate-limits/model";
import type { AttemptResult } from "./outcome";

/** How long messages wait when their workspace's limiter cannot be reached. */
export const LIMITER_UNAVAILABLE_HOLD_MS = 30_000;

export type LimitItem = ReserveItem & { workspaceId: string };

export type BatchLimits = {
	/** What stands in for the delivery of this message, or null when it may be delivered. */
	instead(id: string): AttemptResult | null;
	/** Gives back the units of these messages (those that were granted and then not sent). */
	release(ids: readonly string[]): Promise<void>;
};

/** The limiter's view of one claimed message, from its job's content or its row's. */
export function limitItem(row: ClaimedRow, message: AcceptedMessage | null, content: readonly ContentRow[]): LimitItem {
	const stored = message ? null : content.find((c) => c.id === row.id);
	const headers = message?.headers ?? parseHeaders(stored?.headers);
	const from = message?.from.email ?? stored?.from_email ?? "";
	return { id: row.id, workspaceId: row.workspace_id, sender: senderKey(from, headers), queueId: row.queue_id };
}

function parseHeaders(json: string | undefined): Record<string, string> {
	if (!json) return {};
	try {
		return JSON.parse(json) as Record<string, string>;
	} catch {
		return {};
	}
}

export async function reserveForBatch(
	limiter: Env["WORKSPACE_LIMITER"] | undefined,
	items: readonly LimitItem[],
	now = Date.now(),
	/** Issue 11: per throttled workspace, its reputation throttle (messages a minute), from the claim. */
	throttles: ReadonlyMap<string, number> = new Map(),
): Promise<BatchLimits> {
	const byWorkspace = new Map<string, LimitItem[]>();
	for (const item of items) byWorkspace.set(item.workspaceId, [...(byWorkspace.get(item.workspaceId) ?? []), item]);
	const decisions = new Map<string, Decision>();
	const granted = new Map<string, { workspaceId: string; at: number; keys: string[] }>();
	if (limiter) {
		await Promise.all(
			[...byWorkspace].map(async ([workspaceId, list]) => {
				let result: ReserveResult;
				try {
					count("limiter_calls_total");
					result = await getStub(limiter, limiterName(workspaceId)).reserve(
						workspaceId,
						list.map(({ id, sender, queueId }) => ({ id, sender, queueId })),
						{ throttlePerMinute: throttles.get(workspaceId) ?? null },
					);
				} catch (error) {
					// Closed, but without loss: a hard quota must not be overrun while its counter is unreachable,
					// so the workspace's messages wait a little and come back (no attempt is spent).
					console.error("send consumer: limiter unreachable, holding", { workspaceId, error: errorSummary(error) });
					const until = now + LIMITER_UNAVAILABLE_HOLD_MS;
					for (const item of list) decisions.set(item.id, { kind: "defer", until, reason: "rate limiter unavailable" });
					return;
				}
				for (const item of list) {
					const decision = result.decisions[item.id] ?? { kind: "go" };
					decisions.set(item.id, decision);
					const keys = result.taken[item.id];
					if (decision.kind === "go" && keys && keys.length > 0)
						granted.set(item.id, { workspaceId, at: result.at, keys });
				}
			}),
		);
	}
	const held = [...decisions.values()].filter((d) => d.kind !== "go").length;
	if (held > 0) count("messages_limited_total", held);
	return {
		instead(id) {
			const d = decisions.get(id);
			if (!d || d.kind === "go") return null;
			if (d.kind === "defer") return { kind: "held", until: d.until, reason: d.reason };
			return { kind: "failed", gatewayId: null, failure: "permanent", reason: d.reason };
		},
		async release(ids) {
			if (!limiter) return;
			const returns = new Map<string, { at: number; keys: Record<string, number> }>();
			for (const id of ids) {
				const g = granted.get(id);
				if (!g) continue;
				const entry = returns.get(g.workspaceId) ?? { at: g.at, keys: {} };
				for (const key of g.keys) entry.keys[key] = (entry.keys[key] ?? 0) + 1;
				returns.set(g.workspaceId, entry);
				granted.delete(id);
			}
			await Promise.all(
				[...returns].map(async ([workspaceId, release]) => {
					try {
						count("limiter_calls_total");
						await getStub(limiter, limiterName(workspaceId)).release(workspaceId, release);
					} catch (error) {
						// A unit not given back only makes the limit stricter until its window passes.
						console.warn("send consumer: limiter release failed", { workspaceId, error: errorSummary(error) });
					}
				}),
			);
		},
	};
}
