// The isolate's principal cache: a flood of random well-formed keys evicts only the coldest entries,
// so a key in use keeps being served from the cache instead of costing a D1 read per request.
import { beforeEach, describe, expect, it } from "vitest";
import { hashKey } from "../../src/domain/auth/keys";
import {
	authenticate,
	cachedPrincipalCount,
	forgetAllPrincipals,
	isPrincipalCached,
	MAX_CACHE_ENTRIES,
	shouldTouch,
} from "../../src/domain/auth/principal";

const HOT = "mq_live_hothothothothothothothot00";

/** Just enough of D1 for findPrincipalByHash: one known key, every other hash unknown. */
function fakeD1(hotHash: string) {
	const lookups = new Map<string, number>();
	const d1 = {
		prepare: () => ({
			bind: (hash: string) => ({
				first: async () => {
					lookups.set(hash, (lookups.get(hash) ?? 0) + 1);
					if (hash !== hotHash) return null;
					return {
						key_id: "key_hot",
						workspace_id: "ws_hot",
						workspace_status: "active",
						workspace_sandbox: 0,
						mode: "live",
						scopes: '["admin"]',
						ip_allowlist: "[]",
						expires_at: null,
						revoked_at: null,
						verified_domains: "[]",
						verified_parent_domains: "[]",
						unverified_domains: "{}",
					};
				},
			}),
		}),
	};
	return { d1: d1 as unknown as D1Database, lookups };
}

describe("principal cache", () => {
	beforeEach(() => forgetAllPrincipals());

	it("stays bounded and keeps a key in use through a flood of unknown keys", async () => {
		const hotHash = await hashKey(HOT);
		const { d1, lookups } = fakeD1(hotHash);
		const now = Date.now();
		expect((await authenticate(d1, `Bearer ${HOT}`, now)).ok).toBe(true);
		const flood = MAX_CACHE_ENTRIES + 500;
		for (let i = 0; i < flood; i++) {
			const res = await authenticate(d1, `Bearer mq_live_flood${String(i).padStart(20, "0")}`, now);
			expect(res.ok).toBe(false);
			// The real client keeps calling while the flood goes on.
			if (i % 1000 === 0) expect((await authenticate(d1, `Bearer ${HOT}`, now)).ok).toBe(true);
		}
		expect(cachedPrincipalCount()).toBe(MAX_CACHE_ENTRIES);
		expect(isPrincipalCached(hotHash)).toBe(true);
		expect(lookups.get(hotHash)).toBe(1);
		// The oldest unknown key went first.
		expect(isPrincipalCached(await hashKey(`mq_live_flood${String(0).padStart(20, "0")}`))).toBe(false);
	});

	it("bounds the last-used bookkeeping the same way", () => {
		const now = Date.now();
		expect(shouldTouch("key_hot", now)).toBe(true);
		for (let i = 0; i < MAX_CACHE_ENTRIES + 10; i++) shouldTouch(`key_${i}`, now);
		// key_hot was evicted, so it is touched again: at worst one extra write, never unbounded memory.
		expect(shouldTouch("key_hot", now + 1)).toBe(true);
		expect(shouldTouch("key_hot", now + 2)).toBe(false);
	});
});
