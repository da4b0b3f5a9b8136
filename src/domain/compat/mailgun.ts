// Mailgun's messages API (POST /v3/{domain}/messages, multipart or urlencoded) mapped onto the
// relay's send request. Maps: from, to/cc/bcc (repeated or comma-separated), subject, text, html,
// `h:X-…` headers (`h:Reply-To` → reply_to), `o:tag` (repeated → tags), `v:KEY` (→ metadata), and
// `recipient-variables`: each `to` recipient then gets its own message with `%recipient.KEY%`
// filled in subject, text, html and v: values; `attachment` and `inline` file parts (an inline
// part's Content-ID is its file name, as on Mailgun: `<img src="cid:logo.png">`).
// Refuses, with Mailgun's 400 `{message}`: template, amp-html, every other `o:` option (no scheduling, tracking or test mode yet),
// cc/bcc together with recipient-variables (each would get every copy), and unknown parameters.
import { ApiError, type ErrorCode, err, ok, type Result } from "../../errors";
import {
	addressOf,
	attachmentOf,
	isRecord,
	MissingKeyError,
	refuse,
	type SendAttachment,
	type SendRequest,
	splitAddresses,
	substitute,
} from "./common";

/** A file part of the form, its bytes already in base64 (reading a File is the route's job). */
export type FormFile = { filename: string; type: string; content: string };
export type FormEntry = readonly [name: string, value: string | FormFile];
export type MailgunError = { status: number; body: { message: string } | string };

const SIMPLE = new Set(["from", "to", "cc", "bcc", "subject", "text", "html", "recipient-variables", "o:tag"]);
const FILES = new Set(["attachment", "inline"]);
const REFUSED: Record<string, string> = {
	template: "templates are not supported by this relay",
	"amp-html": "AMP bodies are not supported by this relay",
};

function values(entries: readonly FormEntry[], name: string): string[] {
	return entries.flatMap(([n, v]) => (n === name && typeof v === "string" ? [v] : []));
}

const addresses = (entries: readonly FormEntry[], name: string) => values(entries, name).flatMap(splitAddresses);

/** The form → one send request, or one per `to` recipient with recipient-variables. */
export function mailgunToSend(entries: readonly FormEntry[]): Result<SendRequest[], ApiError> {
	const headers: Record<string, string> = {};
	const metadata: Record<string, string> = {};
	const attachments: SendAttachment[] = [];
	let replyTo: string[] | undefined;
	for (const [name, value] of entries) {
		const refused = REFUSED[name];
		if (refused) return err(refuse(name, refused));
		if (FILES.has(name)) {
			if (typeof value === "string") return err(refuse(name, "must be a file"));
			const filename = value.filename || `attachment-${attachments.length + 1}`;
			attachments.push(attachmentOf(filename, value.content, value.type, name === "inline" ? filename : undefined));
			continue;
		}
		if (typeof value !== "string") return err(refuse(name, "must be a text parameter"));
		if (name.startsWith("h:")) {
			const header = name.slice(2);
			if (header.toLowerCase() === "reply-to") replyTo = splitAddresses(value);
			else headers[header] = value;
		} else if (name.startsWith("v:")) {
			metadata[name.slice(2)] = value;
		} else if (!SIMPLE.has(name)) {
			return err(
				refuse(name, name.startsWith("o:") ? "this option is not supported by this relay" : "is not a parameter"),
			);
		}
	}
	const [from] = values(entries, "from");
	if (from === undefined) return err(refuse("from", "'from' parameter is missing"));
	const to = addresses(entries, "to");
	if (to.length === 0) return err(refuse("to", "'to' parameter is missing"));
	const [subject] = values(entries, "subject");
	const [text] = values(entries, "text");
	const [html] = values(entries, "html");
	if (text === undefined && html === undefined) {
		return err(refuse("text", "Need at least one of 'text' or 'html' parameters specified"));
	}
	const cc = addresses(entries, "cc");
	const bcc = addresses(entries, "bcc");
	const tags = values(entries, "o:tag");
	const base: SendRequest = {
		from,
		to,
		...(cc.length > 0 ? { cc } : {}),
		...(bcc.length > 0 ? { bcc } : {}),
		...(replyTo ? { reply_to: replyTo } : {}),
		subject: subject ?? "",
		...(text !== undefined ? { text } : {}),
		...(html !== undefined ? { html } : {}),
		...(Object.keys(headers).length > 0 ? { headers } : {}),
		...(tags.length > 0 ? { tags } : {}),
		...(Object.keys(metadata).length > 0 ? { metadata } : {}),
		...(attachments.length > 0 ? { attachments } : {}),
	};
	const [variables] = values(entries, "recipient-variables");
	if (variables === undefined) return ok([base]);
	let parsed: unknown;
	try {
		parsed = JSON.parse(variables);
	} catch {
		return err(refuse("recipient-variables", "must be a JSON object keyed by recipient address"));
	}
	if (!isRecord(parsed)) return err(refuse("recipient-variables", "must be a JSON object keyed by recipient address"));
	if (cc.length > 0 || bcc.length > 0) {
		return err(refuse("recipient-variables", "cannot be combined with cc or bcc: each recipient gets its own message"));
	}
	const byAddress = new Map(Object.entries(parsed).map(([k, v]) => [k.toLowerCase(), v]));
	return ok(
		to.map((recipient) => {
			const vars = byAddress.get(addressOf(recipient));
			const pairs: [string, string][] = isRecord(vars)
				? Object.entries(vars).map(([k, v]) => [`%recipient.${k}%`, typeof v === "string" ? v : JSON.stringify(v)])
				: [];
			const own = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, substitute(v, pairs) ?? v]));
			return {
				...base,
				to: [recipient],
				subject: substitute(base.subject, pairs) ?? "",
				...(text !== undefined ? { text: substitute(text, pairs) } : {}),
				...(html !== undefined ? { html: substitute(html, pairs) } : {}),
				...(Object.keys(own).length > 0 ? { metadata: own } : {}),
			};
		}),
	);
}

/** The domain of the URL must be one of the workspace's verified domains, as on Mailgun. */
export function checkMailgunDomain(domain: string, verified: readonly string[]): Result<true, ApiError> {
	if (verified.includes(domain.toLowerCase())) return ok(true);
	return err(new ApiError("not_found", `Domain not found: ${domain}`));
}

/** Mailgun's message id: the relay's id wrapped as `<id@domain>`, and back. */
export const mailgunId = (id: string, domain: string) => `<${id}@${domain}>`;

const STATUS: Partial<Record<ErrorCode, number>> = {
	validation_error: 400,
	header_not_allowed: 400,
	invalid_json: 400,
	invalid_request: 400,
	unsupported_media_type: 400,
	invalid_idempotency_key: 400,
	idempotency_key_reused: 400,
	idempotency_key_in_use: 409,
	conflict: 409,
	// Mailgun refuses a sender it may not send for with 403.
	domain_not_verified: 403,
	forbidden: 403,
	not_found: 404,
	method_not_allowed: 405,
	payload_too_large: 413,
	rate_limited: 429,
	service_unavailable: 503,
};

export function mailgunError(error: ApiError): MailgunError {
	// Mailgun answers a bad or missing key with a bare text body, which mailgun.js reports as is.
	if (error instanceof MissingKeyError || error.code === "unauthorized") return { status: 401, body: "Forbidden" };
	return { status: STATUS[error.code] ?? 500, body: { message: error.message } };
}
