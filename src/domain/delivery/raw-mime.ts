// Raw mode of the render stage (docs/smtp.md "The client's MIME as sent"): a message received over
// SMTP is delivered as the client's own RFC 5322 text, its body byte for byte. Only its header block
// changes: the relay's control headers and Bcc are removed, and what the render stages added or
// removed (X-Mail-Queue-ID, Return-Path, List-Unsubscribe, …) is applied to it.

/** Client headers never delivered from a raw message. Lower case. */
const STRIPPED = new Set(["x-tags", "x-metadata", "x-queue", "x-idempotency-key", "x-user-id", "bcc", "return-path"]);

const stripped = (name: string) => STRIPPED.has(name) || name.startsWith("x-mail-queue-");

/** Headers of a raw message's parts the stages start from: what the client sent, minus the stripped. */
export function rawBaseline(headers: Record<string, string>): [string, string][] {
	return Object.entries(headers).filter(([name]) => !stripped(name.toLowerCase()));
}

export type RawMessage = { head: string; body: string };

/**
 * The client's text split at the end of its header block, or null when raw mode cannot carry it:
 * no header block, or a bare CR or LF (the SMTP bridge refuses those; raw mode passes bytes as is).
 */
export function splitRaw(raw: string): RawMessage | null {
	if (/\r(?!\n)|(?<!\r)\n/.test(raw)) return null;
	const end = raw.indexOf("\r\n\r\n");
	if (end <= 0) return null;
	return { head: raw.slice(0, end + 2), body: raw.slice(end + 2) };
}

type Field = { name: string; text: string };

/** Header fields with their folded continuation lines, exactly as written. */
function fields(head: string): Field[] {
	const out: Field[] = [];
	for (const line of head.split(/(?<=\r\n)/)) {
		const last = out.at(-1);
		if ((line.startsWith(" ") || line.startsWith("\t")) && last) last.text += line;
		else
			out.push({
				name: line
					.slice(0, Math.max(0, line.indexOf(":")))
					.trim()
					.toLowerCase(),
				text: line,
			});
	}
	return out;
}

const entryKey = (name: string, value: string) => `${name.toLowerCase()}\n${value}`;

/** The entries of `after` not in `before`, counting repeats (a multiset difference). */
function minus(after: readonly [string, string][], before: readonly [string, string][]): [string, string][] {
	const left = new Map<string, number>();
	for (const [n, v] of before) left.set(entryKey(n, v), (left.get(entryKey(n, v)) ?? 0) + 1);
	return after.filter(([n, v]) => {
		const k = entryKey(n, v);
		const c = left.get(k) ?? 0;
		if (c === 0) return true;
		left.set(k, c - 1);
		return false;
	});
}

export type RawEdit = {
	/** The headers the stages started from (rawBaseline) and ended with. */
	baseline: readonly [string, string][];
	final: readonly [string, string][];
	/** Written only when the client's message has none. */
	messageIdHeader: string;
	date: Date;
};

/**
 * The message to deliver: the stages' added headers first (trace order, as a relay prepends), then
 * the client's header block without the stripped fields and those the stages removed, then the
 * body untouched. Throws on a header value with a line break, like buildMime.
 */
export function editRaw(raw: RawMessage, edit: RawEdit): string {
	const added = minus(edit.final, edit.baseline);
	const removed = new Set(minus(edit.baseline, edit.final).map(([n]) => n.toLowerCase()));
	const kept = fields(raw.head).filter((f) => !stripped(f.name) && !removed.has(f.name));
	const has = (name: string) => kept.some((f) => f.name === name);
	const extra: [string, string][] = [
		...added,
		...(has("message-id") ? [] : [["Message-ID", edit.messageIdHeader] as [string, string]]),
		...(has("date") ? [] : [["Date", edit.date.toUTCString().replace("GMT", "+0000")] as [string, string]]),
	];
	for (const [name, value] of extra) if (/[\r\n]/.test(value)) throw new Error(`header ${name} holds a line break`);
	return `${extra.map(([n, v]) => `${n}: ${v}\r\n`).join("")}${kept.map((f) => f.text).join("")}${raw.body}`;
}

/** The client's Message-ID header value, if it has one. */
export function rawMessageId(raw: RawMessage): string | null {
	const field = fields(raw.head).find((f) => f.name === "message-id");
	const value = field?.text.slice(field.text.indexOf(":") + 1).trim();
	return value ? value.replace(/\s+/g, " ") : null;
}
