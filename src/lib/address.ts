// Mailbox parsing for `"Name" <user@domain>` and bare `user@domain` forms (RFC 5322, simplified to
// what senders really write).

export type Mailbox = { email: string; name?: string | undefined };

// Deliberately practical: one @, no spaces or angle brackets, a dotted domain of LDH labels.
const EMAIL =
	/^[^\s@<>()[\]\\,;:"]+@(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}$/;
const NAMED = /^\s*(?:"((?:[^"\\]|\\.)*)"|([^<>"]*?))\s*<([^<>]+)>\s*$/;

export function isEmail(text: string): boolean {
	return text.length <= 320 && EMAIL.test(text);
}

export function parseMailbox(input: string): Mailbox | null {
	const trimmed = input.trim();
	if (isEmail(trimmed)) return { email: normalizeEmail(trimmed) };
	const match = trimmed.match(NAMED);
	if (!match) return null;
	const email = (match[3] ?? "").trim();
	if (!isEmail(email)) return null;
	const name = (match[1] ?? match[2] ?? "").replace(/\\(.)/g, "$1").trim();
	return name ? { email: normalizeEmail(email), name } : { email: normalizeEmail(email) };
}

/** Lower-cases the domain; the local part is case-sensitive by RFC, so it is kept. */
export function normalizeEmail(email: string): string {
	const at = email.lastIndexOf("@");
	return `${email.slice(0, at)}@${email.slice(at + 1).toLowerCase()}`;
}

export function domainOf(email: string): string {
	return email.slice(email.lastIndexOf("@") + 1).toLowerCase();
}

export function formatMailbox(mailbox: Mailbox): string {
	if (!mailbox.name) return mailbox.email;
	const quoted = /^[\w !#$%&'*+\-/=?^`{|}~.]*$/.test(mailbox.name) ? mailbox.name : JSON.stringify(mailbox.name);
	return `${quoted} <${mailbox.email}>`;
}
