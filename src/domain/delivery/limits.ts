// Rate limits in the send consumer (docs/rate-limits.md): one WorkspaceLimiter call per workspace of a
// queue batch, right after the claim and before any delivery, says per message go / hold until T /
// reject; after the outcomes, the units of messages that were not sent are given back in one more
// call per workspace that has any. While global (platform) limits exist, one more call per batch to
// the `global` instance runs in parallel, and a message goes only when both grant it. A held message
// is not a delivery attempt (outcome.ts "held").
import type { ClaimedRow, ContentRow } from "../../db/repositories/delivery";
import type { Env } from "../../env";
import { getStub } from "../../lib/durable-objects";
import { errorSummary } from "../../lib/log";
import { count } from "../../lib/metrics";
import type { AcceptedMessage } from "../messages/model";
import {
	type Decision,
	GLOBAL_LIMITER_ID,
	limiterName,
	type Release,
	type ReserveItem,
	type ReserveOptions,
	type ReserveResult,
	senderKey,
} from "../rate-limits/model";
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
export function limitItem(
	row: ClaimedRow,
	message: AcceptedMessage | null,
	content: readonly ContentRow[],
	/** The queue's priority, for the global instance (which knows no workspace's queues). */
	priority?: number,
): LimitItem {
	const stored = message ? null : content.find((c) => c.id === row.id);
	const headers = message?.headers ?? parseHeaders(stored?.headers);
	const from = message?.from.email ?? stored?.from_email ?? "";
	const item: LimitItem = {
		id: row.id,
		workspaceId: row.workspace_id,
		sender: senderKey(from, headers),
		queueId: row.queue_id,
	};
	return priority === undefined ? item : { ...item, priority };
}

function parseHeaders(json: string | undefined): Record<string, string> {
	if (!json) return {};
	try {
		return JSON.parse(json) as Record<string, string>;
	} catch {
		return {};
	}
}

type Grant = { target: string; at: number; keys: string[] };

/**
 * Units of the global instance waiting to be given back with this isolate's next global reserve
 * (one call per batch, not one more): lost if the isolate ends first, which only makes the global
 * limit stricter until their window passes. Bounded.
 */
const pendingGlobal: Release[] = [];
const PENDING_GLOBAL_MAX = 1_000;

/** One reserve call; unreachable → every item held LIMITER_UNAVAILABLE_HOLD_MS (closed, without loss). */
async function reserveAt(
	limiter: Env["WORKSPACE_LIMITER"],
	target: string,
	items: ReserveItem[],
	now: number,
	throttlePerMinute: number | null = null,
): Promise<ReserveResult> {
	const giveBack = target === GLOBAL_LIMITER_ID ? pendingGlobal.splice(0) : [];
	try {
		count("limiter_calls_total");
		const stub = getStub(limiter, limiterName(target));
		const options: ReserveOptions = {};
		if (giveBack.length > 0) options.giveBack = giveBack;
		if (throttlePerMinute !== null) options.throttlePerMinute = throttlePerMinute;
		return await (Object.keys(options).length > 0 ? stub.reserve(target, items, options) : stub.reserve(target, items));
	} catch (error) {
		// Closed, but without loss: a hard quota must not be overrun while its counter is unreachable,
		// so the messages wait a little and come back (no attempt is spent).
		console.error("send consumer: limiter unreachable, holding", { target, error: errorSummary(error) });
		const until = now + LIMITER_UNAVAILABLE_HOLD_MS;
		const decisions: Record<string, Decision> = {};
		for (const item of items) decisions[item.id] = { kind: "defer", until, reason: "rate limiter unavailable" };
		return { at: now, decisions, taken: {} };
	}
}

async function releaseAll(limiter: Env["WORKSPACE_LIMITER"], returns: Map<string, Release>): Promise<void> {
	const global = returns.get(GLOBAL_LIMITER_ID);
	if (global) {
		returns.delete(GLOBAL_LIMITER_ID);
		if (pendingGlobal.length < PENDING_GLOBAL_MAX) pendingGlobal.push(global);
	}
	await Promise.all(
		[...returns].map(async ([target, release]) => {
			try {
				count("limiter_calls_total");
				await getStub(limiter, limiterName(target)).release(target, release);
			} catch (error) {
				// A unit not given back only makes the limit stricter until its window passes.
				console.warn("send consumer: limiter release failed", { target, error: errorSummary(error) });
			}
		}),
	);
}

function addReturn(returns: Map<string, Release>, grant: Grant): void {
	const entry = returns.get(grant.target) ?? { at: grant.at, keys: {} };
	for (const key of grant.keys) entry.keys[key] = (entry.keys[key] ?? 0) + 1;
	returns.set(grant.target, entry);
}

export async function reserveForBatch(
	limiter: Env["WORKSPACE_LIMITER"] | undefined,
	items: readonly LimitItem[],
	now = Date.now(),
	/**
	 * `global` (issue 9): global (platform) limits are configured, so the `global` instance is asked too.
	 * `throttles` (issue 11): per throttled workspace, its reputation throttle (messages a minute), from the claim.
	 */
	options: { global?: boolean; throttles?: ReadonlyMap<string, number> } = {},
): Promise<BatchLimits> {
	const byWorkspace = new Map<string, LimitItem[]>();
	for (const item of items) byWorkspace.set(item.workspaceId, [...(byWorkspace.get(item.workspaceId) ?? []), item]);
	const decisions = new Map<string, Decision>();
	const granted = new Map<string, Grant[]>();
	if (limiter && items.length > 0) {
		const calls = [...byWorkspace].map(([workspaceId, list]) =>
			reserveAt(
				limiter,
				workspaceId,
				list.map(({ id, sender, queueId }) => ({ id, sender, queueId })),
				now,
				options.throttles?.get(workspaceId) ?? null,
			).then((result) => ({ target: workspaceId, list, result })),
		);
		if (options.global) {
			const list = [...items];
			const asked = list.map(({ id, priority }) => ({
				id,
				sender: "",
				queueId: null,
				...(priority ? { priority } : {}),
			}));
			calls.push(
				reserveAt(limiter, GLOBAL_LIMITER_ID, asked, now).then((result) => ({
					target: GLOBAL_LIMITER_ID,
					list,
					result,
				})),
			);
		}
		// The workspace and global calls run in parallel: a message goes when every call granted it;
		// a call's units for a message another call held or refused are given back at once.
		for (const { target, list, result } of await Promise.all(calls)) {
			for (const item of list) {
				const decision = result.decisions[item.id] ?? { kind: "go" };
				const before = decisions.get(item.id);
				if (!before || before.kind === "go" || (decision.kind === "reject" && before.kind === "defer"))
					decisions.set(item.id, decision);
				else if (before.kind === "defer" && decision.kind === "defer" && decision.until > before.until)
					decisions.set(item.id, decision);
				const keys = result.taken[item.id];
				if (decision.kind === "go" && keys && keys.length > 0)
					granted.set(item.id, [...(granted.get(item.id) ?? []), { target, at: result.at, keys }]);
			}
		}
		const giveBack = new Map<string, Release>();
		for (const [id, grants] of granted) {
			if (decisions.get(id)?.kind === "go") continue;
			for (const g of grants) addReturn(giveBack, g);
			granted.delete(id);
		}
		if (giveBack.size > 0) await releaseAll(limiter, giveBack);
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
			const returns = new Map<string, Release>();
			for (const id of ids) {
				for (const g of granted.get(id) ?? []) addReturn(returns, g);
				granted.delete(id);
			}
			await releaseAll(limiter, returns);
		},
	};
}
