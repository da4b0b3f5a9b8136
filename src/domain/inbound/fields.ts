// RFC 5322-style field blocks as reports carry them (message/delivery-status, message/feedback-report,
// text/rfc822-headers, quoted original headers): unfolded, keys lower-cased, blocks split on blank lines.

export type Fields = Map<string, string[]>;

/** Each blank-line-separated block of `text` as its fields, in order. */
export function parseFieldBlocks(text: string): Fields[] {
	const blocks: Fields[] = [];
	let current: Fields = new Map();
	let lastKey: string | null = null;
	for (const line of text.replace(/\r\n?/g, "\n").split("\n")) {
		if (line.trim() === "") {
			if (current.size > 0) blocks.push(current);
			current = new Map();
			lastKey = null;
			continue;
		}
		if (/^[ \t]/.test(line) && lastKey !== null) {
			const values = current.get(lastKey);
			if (values && values.length > 0) values[values.length - 1] = `${values[values.length - 1]} ${line.trim()}`;
			continue;
		}
		const colon = line.indexOf(":");
		if (colon <= 0) continue;
		lastKey = line.slice(0, colon).trim().toLowerCase();
		const values = current.get(lastKey) ?? [];
		values.push(line.slice(colon + 1).trim());
		current.set(lastKey, values);
	}
	if (current.size > 0) blocks.push(current);
	return blocks;
}

/** The header block at the start of `text` (up to the first blank line). */
export function parseHeaderBlock(text: string): Fields {
	const end = text.search(/\r?\n\r?\n/);
	return parseFieldBlocks(end === -1 ? text : text.slice(0, end))[0] ?? new Map();
}

export function field(fields: Fields, key: string): string | null {
	return fields.get(key)?.[0] ?? null;
}

/** `rfc822; a@b` → `a@b` (RFC 3464 address-type prefix and angle brackets dropped). */
export function typedAddress(value: string | null): string | null {
	if (value === null) return null;
	const bare = value.includes(";") ? value.slice(value.indexOf(";") + 1) : value;
	const address = bare.trim().replace(/^<|>$/g, "").trim();
	return address.includes("@") ? address.toLowerCase() : null;
}

/** `smtp; 550 5.1.1 …` → `550 5.1.1 …`. */
export function typedText(value: string | null): string | null {
	if (value === null) return null;
	const text = /^[a-z-]+;/i.test(value) ? value.slice(value.indexOf(";") + 1) : value;
	return text.trim() || null;
}

/** Message-ID and our X-Mail-Queue-Id from a quoted header block. */
export function originalIds(fields: Fields): { messageId: string | null; queueId: string | null } {
	return { messageId: field(fields, "message-id"), queueId: field(fields, "x-mail-queue-id") };
}
