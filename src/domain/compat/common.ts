// What the provider-compatible surfaces (Resend, Postmark, SendGrid, Mailgun, Mandrill) share: the
// send request they all map onto (validateSend's input), address lists, per-recipient placeholders,
// and the errors they tell apart that the canonical API does not.
import type { z } from "zod";
import { ApiError, type ErrorDetail } from "../../errors";
import { parseMailbox } from "../../lib/address";
import type { sendEmailSchema } from "../messages/validate";

/** The body of POST /v1/emails: every provider's body is mapped onto this, then validated by validateSend. */
export type SendRequest = z.input<typeof sendEmailSchema>;

/**
 * No credential at all, as opposed to a wrong one. /v1 answers both 401; Resend tells them apart
 * (401 missing_api_key, 403 invalid_api_key), so the compat guard raises this subclass.
 */
export class MissingKeyError extends ApiError {
	constructor(message: string) {
		super("unauthorized", message);
	}
}

/** A refusal of the provider's own request, before anything reaches validateSend. */
export function refuse(field: string, message: string): ApiError {
	return new ApiError("validation_error", `${field}: ${message}`, [{ path: field, message }]);
}

/** The field a validation error is about, as the domain names it (`to.0` → `to`), or "". */
export function errorField(error: ApiError): string {
	const first: ErrorDetail | undefined = error.details?.[0];
	return first?.path?.split(".")[0] ?? "";
}

/**
 * Splits `a@x.test, "Doe, Jo" <jo@x.test>` at the commas that separate mailboxes, not those inside
 * a quoted name or angle brackets (Postmark's To/Cc/Bcc, Mailgun's to/cc/bcc).
 */
export function splitAddresses(list: string): string[] {
	const out: string[] = [];
	let current = "";
	let quoted = false;
	let angle = false;
	for (let i = 0; i < list.length; i++) {
		const ch = list[i] ?? "";
		if (ch === "\\" && quoted) {
			current += ch + (list[i + 1] ?? "");
			i++;
			continue;
		}
		if (ch === '"') quoted = !quoted;
		else if (ch === "<" && !quoted) angle = true;
		else if (ch === ">" && !quoted) angle = false;
		if (ch === "," && !quoted && !angle) {
			if (current.trim()) out.push(current.trim());
			current = "";
			continue;
		}
		current += ch;
	}
	if (current.trim()) out.push(current.trim());
	return out;
}

/** The bare address of a mailbox as written, lower-cased, for matching per-recipient data. */
export function addressOf(mailbox: string): string {
	return (parseMailbox(mailbox)?.email ?? mailbox.trim()).toLowerCase();
}

/** Replaces every literal occurrence of each key by its value (SendGrid substitutions, Mailgun %recipient.x%). */
export function substitute(
	text: string | undefined,
	pairs: readonly (readonly [string, string])[],
): string | undefined {
	if (text === undefined) return undefined;
	let out = text;
	for (const [key, value] of pairs) if (key !== "") out = out.split(key).join(value);
	return out;
}

/** A plain JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One file of the /v1 send request (`attachments[]`), which validateSend checks like any other. */
export type SendAttachment = NonNullable<SendRequest["attachments"]>[number];

/**
 * A provider's file → the /v1 attachment. Providers send types with parameters (`text/plain;
 * charset=utf-8`) and Content-IDs in brackets or as `cid:x`; /v1 takes a bare type and a bare id.
 */
export function attachmentOf(
	filename: string,
	content: string,
	contentType?: string | null,
	contentId?: string | null,
): SendAttachment {
	const type = contentType?.split(";")[0]?.trim().toLowerCase();
	const id = contentId
		?.trim()
		.replace(/^cid:/i, "")
		.replace(/^<(.*)>$/, "$1");
	return {
		filename,
		content,
		...(type ? { content_type: type } : {}),
		...(id ? { content_id: id } : {}),
	};
}
