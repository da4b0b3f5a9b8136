// Which custom headers a client may set, and the limits on them. An allowlist: a header the relay
// does not know cannot change how a message is routed, signed or attributed (docs/api.md "Headers").
import { ApiError, err, ok, type Result } from "../../errors";
import { utf8Length } from "../../lib/encoding";

export const MAX_CUSTOM_HEADERS = 50;
/** RFC 5322 §2.1.1: a line is at most 998 octets; name + ": " + value must fit one. */
export const MAX_HEADER_LINE_OCTETS = 998;

export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,76}$/;

/** True for C0 controls except TAB, DEL, and the Unicode line breaks a renderer might turn into a newline. */
export function hasControlChars(text: string): boolean {
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if ((c < 0x20 && c !== 0x09) || c === 0x7f || c === 0x85 || c === 0x2028 || c === 0x2029) return true;
	}
	return false;
}

/** Standard headers a client may set, beside `X-*`. Lower case. */
export const ALLOWED_HEADERS: ReadonlySet<string> = new Set([
	// RFC 2369 / 2919 / 8058 list headers
	"list-unsubscribe",
	"list-unsubscribe-post",
	"list-id",
	"list-help",
	"list-subscribe",
	"list-post",
	"list-owner",
	"list-archive",
	// threading and description (RFC 5322 §3.6.4, §3.6.5)
	"in-reply-to",
	"references",
	"comments",
	"keywords",
	// handling hints
	"importance",
	"priority",
	"sensitivity",
	"auto-submitted",
	"precedence",
	"organization",
	"feedback-id",
]);

/** Written by the relay itself when it renders the message. Lower case. */
export const RELAY_HEADERS: ReadonlySet<string> = new Set([
	"from",
	"to",
	"cc",
	"bcc",
	"subject",
	"date",
	"message-id",
	"mime-version",
	"reply-to",
]);

/** Headers that would misattribute the message or forge its transport history. Lower case. */
const FORBIDDEN_HEADERS: ReadonlySet<string> = new Set([
	"sender",
	"return-path",
	"dkim-signature",
	"received",
	"authentication-results",
	"arc-seal",
	"arc-message-signature",
	"arc-authentication-results",
	"delivered-to",
]);

/** Why `name` may not be set by a client, or null when it may. */
export function headerRefusal(name: string): string | null {
	const lower = name.toLowerCase();
	if (lower.startsWith("x-mail-queue-")) return "X-Mail-Queue-* headers are written by the relay";
	if (lower.startsWith("x-")) return null;
	if (ALLOWED_HEADERS.has(lower)) return null;
	if (RELAY_HEADERS.has(lower) || lower.startsWith("content-")) {
		return "is written by the relay from the message fields; set the field instead";
	}
	if (lower.startsWith("resent-") || FORBIDDEN_HEADERS.has(lower)) {
		return "would misattribute the message or forge its transport";
	}
	return "is not a header clients may set (allowed: X-*, List-*, In-Reply-To, References, … see docs/api.md)";
}

const refuse = (name: string, message: string) =>
	err(new ApiError("header_not_allowed", `headers.${name}: ${message}.`, [{ path: `headers.${name}`, message }]));

/** Applies the header policy; names keep the client's spelling. */
export function checkHeaders(headers: Record<string, string>): Result<Record<string, string>, ApiError> {
	const names = Object.keys(headers);
	if (names.length > MAX_CUSTOM_HEADERS) {
		return err(
			new ApiError("header_not_allowed", `headers: at most ${MAX_CUSTOM_HEADERS} custom headers.`, [
				{ path: "headers", message: `at most ${MAX_CUSTOM_HEADERS} custom headers` },
			]),
		);
	}
	const seen = new Set<string>();
	for (const name of names) {
		const value = headers[name] ?? "";
		if (!HEADER_NAME.test(name)) return refuse(name, "is not a valid header name");
		const lower = name.toLowerCase();
		if (seen.has(lower)) return refuse(name, "is given twice (header names are case-insensitive)");
		seen.add(lower);
		const refusal = headerRefusal(name);
		if (refusal) return refuse(name, refusal);
		if (hasControlChars(value)) return refuse(name, "may not contain CR, LF or other control characters");
		if (utf8Length(name) + 2 + utf8Length(value) > MAX_HEADER_LINE_OCTETS) {
			return refuse(name, `name, ": " and value together exceed ${MAX_HEADER_LINE_OCTETS} octets`);
		}
	}
	return ok(headers);
}
