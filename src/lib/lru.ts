// A size-bounded map that evicts the least recently used entry, for per-isolate caches: a flood of
// distinct keys pushes out only the coldest entries instead of emptying the cache.

export class LruMap<K, V> {
	private readonly entries = new Map<K, V>();

	constructor(readonly maxEntries: number) {
		if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError("maxEntries must be a positive integer");
	}

	get size(): number {
		return this.entries.size;
	}

	/** The value, marked as most recently used. */
	get(key: K): V | undefined {
		if (!this.entries.has(key)) return undefined;
		const value = this.entries.get(key) as V;
		// A Map iterates in insertion order, so re-inserting moves the key to the young end.
		this.entries.delete(key);
		this.entries.set(key, value);
		return value;
	}

	/** The value, without counting as use. */
	peek(key: K): V | undefined {
		return this.entries.get(key);
	}

	set(key: K, value: V): this {
		this.entries.delete(key);
		this.entries.set(key, value);
		if (this.entries.size > this.maxEntries) {
			const oldest = this.entries.keys().next();
			if (!oldest.done) this.entries.delete(oldest.value);
		}
		return this;
	}

	delete(key: K): boolean {
		return this.entries.delete(key);
	}

	clear(): void {
		this.entries.clear();
	}

	/** Oldest first; iterating does not count as use. */
	[Symbol.iterator](): IterableIterator<[K, V]> {
		return this.entries.entries();
	}
}
