// A workspace's reputation (docs/reputation.md): its settings (thresholds, minimum volume, throttle
// rate) with their defaults, the rates over 24 h and 7 d from hourly counts, and the state machine
// ok → warning → throttled → ok that the cron drives. Pure: no D1, no clock of its own.
import { z } from "zod";
import type { EventType, ReputationState } from "../../db/schema";
import { HOUR } from "../../lib/time";

export type ReputationSettings = {
	/** Fractions of `sent`: 0.05 is 5 %. */
	bounce_warning: number;
	bounce_throttle: number;
	complaint_warning: number;
	complaint_throttle: number;
	/** A window is judged only once it holds at least this many sent recipients. */
	min_volume: number;
	/** While throttled, the workspace sends at most this many messages a minute (a soft limit). */
	throttle_per_minute: number;
};

export const DEFAULT_REPUTATION: ReputationSettings = {
	bounce_warning: 0.02,
	bounce_throttle: 0.05,
	complaint_warning: 0.0005,
	complaint_throttle: 0.001,
	min_volume: 200,
	throttle_per_minute: 10,
};

const fraction = z.number().min(0).max(1);

export const reputationPatchSchema = z.strictObject({
	bounce_warning: fraction.optional(),
	bounce_throttle: fraction.optional(),
	complaint_warning: fraction.optional(),
	complaint_throttle: fraction.optional(),
	min_volume: z.number().int().min(1).max(1_000_000_000).optional(),
	throttle_per_minute: z.number().int().min(1).max(1_000_000).optional(),
});
export type ReputationPatch = z.infer<typeof reputationPatchSchema>;

/** The settings in force: what is stored (workspaces.settings.reputation), defaults for the rest. */
export function reputationSettingsOf(stored: unknown): ReputationSettings {
	const parsed = reputationPatchSchema.safeParse(stored);
	const values = parsed.success ? parsed.data : {};
	const out = { ...DEFAULT_REPUTATION };
	for (const [k, v] of Object.entries(values)) if (v !== undefined) out[k as keyof ReputationSettings] = v;
	return out;
}

/** A warning threshold above its throttle threshold would never warn: refused (null when fine). */
export function settingsProblem(s: ReputationSettings): { path: string; message: string } | null {
	if (s.bounce_warning > s.bounce_throttle)
		return { path: "bounce_warning", message: "bounce_warning must not exceed bounce_throttle" };
	if (s.complaint_warning > s.complaint_throttle)
		return { path: "complaint_warning", message: "complaint_warning must not exceed complaint_throttle" };
	return null;
}

export type Counts = { sent: number; bounced: number; complained: number };
export type WindowName = "24h" | "7d";
export type WindowCounts = Record<WindowName, Counts>;

/** Hours per window; a window is the current Unix hour and the ones before it. */
export const WINDOW_HOURS: Record<WindowName, number> = { "24h": 24, "7d": 168 };

export function hourOf(ms: number): number {
	return Math.floor(ms / HOUR);
}

/** The first hour a window counts at `now`. */
export function windowStart(window: WindowName, now: number): number {
	return hourOf(now) - WINDOW_HOURS[window] + 1;
}

export function rate(n: number, sent: number): number | null {
	return sent > 0 ? n / sent : null;
}

export type Level = "ok" | "warning" | "throttle";

export type Assessment = {
	level: Level;
	/** The window judged: the shortest one with at least min_volume sent; null when none has. */
	window: WindowName | null;
	bounceRate: number | null;
	complaintRate: number | null;
	reason: string | null;
};

const pct = (r: number) => `${(r * 100).toFixed(2)}%`;

/**
 * Judges the shortest window with enough volume: 24 h reacts within the day, 7 d still judges a
 * workspace that sends too little for a day to say anything. Below the minimum in both, nothing is
 * measurable and the level is ok (1 bounce of 3 sends says nothing about a sender).
 */
export function assess(counts: WindowCounts, s: ReputationSettings): Assessment {
	const window = (["24h", "7d"] as const).find((w) => counts[w].sent >= s.min_volume) ?? null;
	if (window === null) return { level: "ok", window, bounceRate: null, complaintRate: null, reason: null };
	const c = counts[window];
	const bounceRate = rate(c.bounced, c.sent) ?? 0;
	const complaintRate = rate(c.complained, c.sent) ?? 0;
	const checks = [
		{ level: "throttle", name: "bounce", r: bounceRate, t: s.bounce_throttle },
		{ level: "throttle", name: "complaint", r: complaintRate, t: s.complaint_throttle },
		{ level: "warning", name: "bounce", r: bounceRate, t: s.bounce_warning },
		{ level: "warning", name: "complaint", r: complaintRate, t: s.complaint_warning },
	] as const;
	// At or above a threshold counts; a threshold of 0 would flag every workspace, so it means "off".
	const hit = checks.find((k) => k.t > 0 && k.r >= k.t);
	return {
		level: hit?.level ?? "ok",
		window,
		bounceRate,
		complaintRate,
		reason: hit ? `${hit.name} rate ${window} ${pct(hit.r)} ≥ ${pct(hit.t)}` : null,
	};
}

export type Transition = { state: ReputationState; event: Extract<EventType, `reputation_${string}`> | null };

/**
 * Past the throttle threshold → throttled; past the warning one → warning, except that a throttled
 * workspace stays throttled until its rates fall under the warning threshold (so it does not flap
 * around the hard threshold); under the warning threshold → ok. An event only on a change of state.
 */
export function nextState(current: ReputationState, level: Level): Transition {
	if (level === "throttle")
		return { state: "throttled", event: current === "throttled" ? null : "reputation_throttled" };
	if (level === "warning") {
		if (current === "throttled") return { state: "throttled", event: null };
		return { state: "warning", event: current === "warning" ? null : "reputation_warning" };
	}
	return { state: "ok", event: current === "ok" ? null : "reputation_recovered" };
}

/** The per-minute throttle the consumer adds to its reserve call, or null when the workspace sends freely. */
export function throttleOf(state: string | null | undefined, storedSettings: unknown): number | null {
	return state === "throttled" ? reputationSettingsOf(storedSettings).throttle_per_minute : null;
}
