// What an error may contribute to a log line: its kind and a short message with anything shaped
// like an email address or a key redacted. Logs carry ids, never bodies, addresses or secrets.

const MAX_MESSAGE = 200;
const ADDRESS = /[^\s<>()"',;:]+@[^\s<>()"',;:]+/g;
const SECRET = /\b(mq_(?:live|test)_|Bearer\s+)\S+/gi;

export function errorSummary(error: unknown): string {
	const name = error instanceof Error ? error.name : typeof error;
	const message = error instanceof Error ? error.message : "";
	const safe = message.slice(0, MAX_MESSAGE).replace(ADDRESS, "<address>").replace(SECRET, "$1<redacted>");
	return safe ? `${name}: ${safe}` : name;
}
