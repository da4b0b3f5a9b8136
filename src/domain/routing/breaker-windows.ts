// A gateway's own send limits (per second, minute, hour, day) as counters in time slots.
//
// Why these windows: a provider's quota is usually rolling (SES "sends in the last 24 hours") or a
// short burst limit. A fixed window would let twice the limit through across a boundary (the whole
// day's quota at 23:59 and again at 00:00); a log of every send would grow with the volume. So the
// minute, hour and day limits are rolling windows counted in slots (1 s, 1 min, 1 h) and a send is
// admitted only if the slots overlapping the last window, the oldest partial one included, leave
// room: never more than the limit in any window of that length, at the price of being stricter by
// at most one slot (1/60 of a minute or an hour, 1/24 of a day). The second limit is a plain fixed
// window: a batch is admitted at once anyway, and sub-second slots would buy nothing.
// Memory is bounded by the slot counts: at most 2 + 61 + 61 + 25 entries.

export const RATE_UNITS = ["second", "minute", "hour", "day"] as const;
export type RateUnit = (typeof RATE_UNITS)[number];
export type RateLimits = Partial<Record<RateUnit, number>>;

/** [slot index, sends admitted in it], oldest first. */
export type Slots = [number, number][];
export type RateWindows = Record<RateUnit, Slots>;

export const WINDOW_MS: Record<RateUnit, number> = {
	second: 1_000,
	minute: 60_000,
	hour: 3_600_000,
	day: 86_400_000,
};

const SLOT_MS: Record<RateUnit, number> = { second: 1_000, minute: 1_000, hour: 60_000, day: 3_600_000 };

export function emptyWindows(): RateWindows {
	return { second: [], minute: [], hour: [], day: [] };
}

/** The oldest slot that still counts toward `unit`'s window at `now`. */
function firstLiveSlot(unit: RateUnit, now: number): number {
	const slot = SLOT_MS[unit];
	// The second is a fixed window: only the current slot counts.
	if (unit === "second") return Math.floor(now / slot);
	return Math.floor((now - WINDOW_MS[unit]) / slot);
}

export function pruneWindows(windows: RateWindows, now: number): RateWindows {
	const pruned = emptyWindows();
	for (const unit of RATE_UNITS) {
		const first = firstLiveSlot(unit, now);
		pruned[unit] = windows[unit].filter(([index, count]) => index >= first && count > 0);
	}
	return pruned;
}

export function usageOf(windows: RateWindows, unit: RateUnit, now: number): number {
	const first = firstLiveSlot(unit, now);
	let used = 0;
	for (const [index, count] of windows[unit]) if (index >= first) used += count;
	return used;
}

/** Sends the limits still allow at `now` (Infinity when no limit is set). */
export function roomIn(windows: RateWindows, limits: RateLimits, now: number): number {
	let room = Number.POSITIVE_INFINITY;
	for (const unit of RATE_UNITS) {
		const limit = limits[unit];
		if (limit === undefined) continue;
		room = Math.min(room, Math.max(0, limit - usageOf(windows, unit, now)));
	}
	return room;
}

/** The earliest time at which every limit has room for `need` more sends. */
export function roomAt(windows: RateWindows, limits: RateLimits, now: number, need = 1): number {
	let at = now;
	for (const unit of RATE_UNITS) {
		const limit = limits[unit];
		if (limit === undefined) continue;
		let excess = usageOf(windows, unit, now) + need - limit;
		if (excess <= 0) continue;
		const first = firstLiveSlot(unit, now);
		// Slot i leaves the window once firstLiveSlot passes it: at (i + 1) * slot + window (the second:
		// at the next slot).
		const leaves = (index: number) =>
			unit === "second" ? (index + 1) * SLOT_MS[unit] : (index + 1) * SLOT_MS[unit] + WINDOW_MS[unit];
		let when = unit === "second" ? leaves(Math.floor(now / SLOT_MS[unit])) : Number.POSITIVE_INFINITY;
		for (const [index, count] of windows[unit]) {
			if (index < first) continue;
			excess -= count;
			if (excess <= 0) {
				when = leaves(index);
				break;
			}
		}
		// A request larger than the limit itself never fits; say when the window is empty.
		if (!Number.isFinite(when)) when = leaves(Math.floor(now / SLOT_MS[unit]));
		at = Math.max(at, when);
	}
	return at;
}

function addTo(slots: Slots, index: number, delta: number): Slots {
	const last = slots[slots.length - 1];
	if (last && last[0] === index) return [...slots.slice(0, -1), [index, last[1] + delta]];
	return [...slots, [index, delta]];
}

/** Counts `count` sends admitted at `now` in every unit's current slot. */
export function recordSends(windows: RateWindows, count: number, now: number): RateWindows {
	if (count <= 0) return windows;
	const next = emptyWindows();
	for (const unit of RATE_UNITS) next[unit] = addTo(windows[unit], Math.floor(now / SLOT_MS[unit]), count);
	return next;
}

/**
 * Gives back `count` admitted sends that were never attempted, newest slots first (reports come
 * seconds after their admission, so this is almost always the slot they were counted in).
 */
export function refundSends(windows: RateWindows, count: number): RateWindows {
	if (count <= 0) return windows;
	const next = emptyWindows();
	for (const unit of RATE_UNITS) next[unit] = takeNewest(windows[unit], count);
	return next;
}

/** Removes up to `count` from the newest entries of `slots`. */
export function takeNewest(slots: Slots, count: number): Slots {
	const out: Slots = slots.map(([index, n]) => [index, n]);
	let left = count;
	for (let i = out.length - 1; i >= 0 && left > 0; i--) {
		const entry = out[i];
		if (!entry) continue;
		const taken = Math.min(entry[1], left);
		entry[1] -= taken;
		left -= taken;
	}
	return out.filter(([, n]) => n > 0);
}

/** Removes up to `count` from the oldest entries of `slots`. */
export function takeOldest(slots: Slots, count: number): Slots {
	const out: Slots = [];
	let left = count;
	for (const [index, n] of slots) {
		const taken = Math.min(n, left);
		left -= taken;
		if (n - taken > 0) out.push([index, n - taken]);
	}
	return out;
}
