// LruMap: bounded, evicts the least recently used entry, reads count as use.
import { describe, expect, it } from "vitest";
import { LruMap } from "../../src/lib/lru";

describe("LruMap", () => {
	it("never holds more than maxEntries and evicts the least recently used", () => {
		const lru = new LruMap<string, number>(3);
		lru.set("a", 1).set("b", 2).set("c", 3);
		expect(lru.get("a")).toBe(1); // a is now the most recent; b is the oldest
		lru.set("d", 4);
		expect(lru.size).toBe(3);
		expect(lru.get("b")).toBeUndefined();
		expect([...lru].map(([k]) => k)).toEqual(["c", "a", "d"]);
	});

	it("keeps a hot entry through a flood of distinct keys", () => {
		const lru = new LruMap<string, number>(100);
		lru.set("hot", 0);
		for (let i = 0; i < 10_000; i++) {
			lru.set(`cold-${i}`, i);
			if (i % 50 === 0) lru.get("hot");
		}
		expect(lru.size).toBe(100);
		expect(lru.get("hot")).toBe(0);
		expect(lru.get("cold-0")).toBeUndefined();
		expect(lru.get("cold-9999")).toBe(9999);
	});

	it("overwriting a key refreshes it without growing the map", () => {
		const lru = new LruMap<string, number>(2);
		lru.set("a", 1).set("b", 2).set("a", 3).set("c", 4);
		expect(lru.get("a")).toBe(3);
		expect(lru.get("b")).toBeUndefined();
		expect(lru.size).toBe(2);
		expect(lru.delete("a")).toBe(true);
		expect(lru.size).toBe(1);
	});

	it("refuses a size that is not a positive integer", () => {
		expect(() => new LruMap(0)).toThrow(RangeError);
	});
});
