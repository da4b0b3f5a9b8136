// SendGrid's v3 mail send (POST /v3/mail/send) mapped onto the relay's send request.
// Each personalization becomes its own message, addressed only to its own to/cc/bcc, with its own
// subject (or the request's), headers (over the request's), custom_args (over the request's) and
// substitutions (each key replaced literally in subject, text and html). Maps from/reply_to
// `{email, name}`, content text/plain and text/html, categories (→ tags), custom_args (→ metadata),
// attachments `{content, filename, type?, disposition?, content_id?}` (inline only when disposition
// is inline, which then needs content_id, as on SendGrid; every personalization gets every file).
// Refuses, with SendGrid's 400 `{errors: [{message, field, help}]}`: send_at (no scheduling yet), template_id/dynamic_template_data (no templates), other content
// types, asm, ip_pool_name, batch_id, mail_settings, tracking_settings, reply_to_list with more than
// one address, and any field SendGrid does not define.
import { z } from "zod";
import { type ApiError, describeIssues, type ErrorCode, err, ok, type Result } from "../../errors";
import { formatMailbox } from "../../lib/address";
import { attachmentOf, MissingKeyError, refuse, type SendAttachment, type SendRequest, substitute } from "./common";

const address = z.strictObject({ email: z.string(), name: z.string().optional() });
const strings = z.record(z.string(), z.string());
const REFUSED = ["send_at", "dynamic_template_data", "template_id", "asm", "ip_pool_name", "batch_id"];

const personalization = z.strictObject({
	to: z.array(address).min(1),
	cc: z.array(address).optional(),
	bcc: z.array(address).optional(),
	from: address.optional(),
	subject: z.string().optional(),
	headers: strings.optional(),
	substitutions: strings.optional(),
	custom_args: strings.optional(),
	send_at: z.number().optional(),
	dynamic_template_data: z.unknown().optional(),
});

export const sendgridMailSchema = z.strictObject({
	personalizations: z.array(personalization).min(1).max(1000),
	from: address,
	reply_to: address.optional(),
	reply_to_list: z.array(address).optional(),
	subject: z.string().optional(),
	content: z.array(z.strictObject({ type: z.string(), value: z.string() })).optional(),
	attachments: z
		.array(
			z.strictObject({
				content: z.string(),
				filename: z.string(),
				type: z.string().optional(),
				disposition: z.enum(["attachment", "inline"]).optional(),
				content_id: z.string().optional(),
			}),
		)
		.optional(),
	template_id: z.string().optional(),
	headers: strings.optional(),
	categories: z.array(z.string()).optional(),
	custom_args: strings.optional(),
	send_at: z.number().optional(),
	batch_id: z.string().optional(),
	asm: z.unknown().optional(),
	ip_pool_name: z.string().optional(),
	mail_settings: z.unknown().optional(),
	tracking_settings: z.unknown().optional(),
});

export type SendgridErrorBody = { errors: { message: string; field: string | null; help: string | null }[] };

const mailbox = (a: { email: string; name?: string | undefined }) => formatMailbox(a);

/** The request → one send request per personalization, or SendGrid's reason to refuse it. */
export function sendgridToSend(body: unknown): Result<SendRequest[], ApiError> {
	const parsed = sendgridMailSchema.safeParse(body);
	if (!parsed.success) {
		const first = describeIssues(parsed.error.issues)[0];
		return err(refuse(first?.path || "body", first?.message ?? "invalid"));
	}
	const mail = parsed.data;
	const attachments: SendAttachment[] = [];
	for (const [i, a] of (mail.attachments ?? []).entries()) {
		const inline = a.disposition === "inline";
		if (inline && !a.content_id) {
			return err(refuse(`attachments.${i}.content_id`, "content_id is required when disposition is inline"));
		}
		// A content_id on a plain attachment names nothing the HTML shows: the file stays an attachment.
		attachments.push(attachmentOf(a.filename, a.content, a.type, inline ? a.content_id : undefined));
	}
	for (const field of [...REFUSED, "mail_settings", "tracking_settings"] as const) {
		if ((mail as Record<string, unknown>)[field] !== undefined) {
			return err(refuse(field, "is not supported by this relay (no scheduling, templates, groups or IP pools yet)"));
		}
	}
	for (const [i, p] of mail.personalizations.entries()) {
		for (const field of ["send_at", "dynamic_template_data", "from"] as const) {
			if (p[field] !== undefined)
				return err(refuse(`personalizations.${i}.${field}`, "is not supported by this relay"));
		}
	}
	const replyTo = mail.reply_to_list ?? (mail.reply_to ? [mail.reply_to] : []);
	let html: string | undefined;
	let text: string | undefined;
	for (const part of mail.content ?? []) {
		if (part.type === "text/html") html = part.value;
		else if (part.type === "text/plain") text = part.value;
		else return err(refuse("content", `content of type ${part.type} is not supported; send text/plain or text/html`));
	}
	return ok(
		mail.personalizations.map((p): SendRequest => {
			const pairs = Object.entries(p.substitutions ?? {});
			const headers = { ...mail.headers, ...p.headers };
			const metadata = { ...mail.custom_args, ...p.custom_args };
			const subject = substitute(p.subject ?? mail.subject ?? "", pairs) ?? "";
			const h = substitute(html, pairs);
			const t = substitute(text, pairs);
			return {
				from: mailbox(mail.from),
				to: p.to.map(mailbox),
				...(p.cc ? { cc: p.cc.map(mailbox) } : {}),
				...(p.bcc ? { bcc: p.bcc.map(mailbox) } : {}),
				...(replyTo.length > 0 ? { reply_to: replyTo.map(mailbox) } : {}),
				subject,
				...(h !== undefined ? { html: h } : {}),
				...(t !== undefined ? { text: t } : {}),
				...(Object.keys(headers).length > 0 ? { headers } : {}),
				...(mail.categories ? { tags: mail.categories } : {}),
				...(Object.keys(metadata).length > 0 ? { metadata } : {}),
				...(attachments.length > 0 ? { attachments } : {}),
			};
		}),
	);
}

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
	unauthorized: 401,
	// SendGrid refuses a From without a verified Sender Identity with 403.
	domain_not_verified: 403,
	forbidden: 403,
	not_found: 404,
	method_not_allowed: 405,
	payload_too_large: 413,
	rate_limited: 429,
	service_unavailable: 503,
};

/** The personalization a validation error is about, so SendGrid's `field` names the real place. */
export function sendgridError(error: ApiError, personalization?: number): { status: number; body: SendgridErrorBody } {
	const status = STATUS[error.code] ?? 500;
	const path = error.details?.[0]?.path ?? null;
	const field =
		error instanceof MissingKeyError || status === 401
			? null
			: path && personalization !== undefined && /^(to|cc|bcc|subject|headers|metadata)/.test(path)
				? `personalizations.${personalization}.${/^(to|cc|bcc)\.\d+$/.test(path) ? `${path}.email` : path}`
				: path;
	const message =
		status === 401
			? `The provided authorization grant is invalid, expired, or revoked: ${error.message}`
			: error.message;
	return { status, body: { errors: [{ message, field, help: null }] } };
}
