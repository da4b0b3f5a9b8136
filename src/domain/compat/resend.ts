// Resend's API (POST /emails, POST /emails/batch, GET /emails/{id}) mapped onto the relay's send request.
// Maps: from, to, cc, bcc, reply_to, subject, html, text, headers; tags `{name, value}` → the tag
// `name:value` (Resend's names and values cannot hold `:`, so it reads back exactly); attachments
// `{filename, content, content_type?, content_id?}` with content base64 or bytes (a Buffer as JSON).
// Refuses, with Resend's 422 validation_error: attachments by `path` (the relay fetches no remote
// files), scheduled_at
// (no scheduling yet), template and topic_id (no templates or topics), and any field Resend does not
// define. Errors answer Resend's `{statusCode, name, message}` with its names and status codes.
import { z } from "zod";
import { type ApiError, describeIssues, type ErrorCode, err, ok, type Result } from "../../errors";
import { formatMailbox } from "../../lib/address";
import { toBase64 } from "../../lib/encoding";
import type { EmailView } from "../messages/read";
import { attachmentOf, MissingKeyError, refuse, type SendAttachment, type SendRequest } from "./common";

export const RESEND_MAX_BATCH = 100;

const addresses = z.union([z.string(), z.array(z.string())]);
const bytes = z.array(z.number().int().min(0).max(255));
// The Resend SDK sends bytes as base64; older SDKs and hand-written clients send a Buffer, which
// JSON.stringify writes as `{type: "Buffer", data: [...]}`, or a plain array of bytes.
const attachment = z.strictObject({
	filename: z.string().optional(),
	content: z.union([z.string(), bytes, z.strictObject({ type: z.literal("Buffer"), data: bytes })]).optional(),
	path: z.string().optional(),
	content_type: z.string().optional(),
	content_id: z.string().optional(),
});
const tag = z.strictObject({ name: z.string().min(1).max(256), value: z.string().max(256).optional() });

export const resendEmailSchema = z.strictObject({
	from: z.string(),
	to: addresses,
	cc: addresses.optional(),
	bcc: addresses.optional(),
	reply_to: addresses.optional(),
	subject: z.string(),
	html: z.string().optional(),
	text: z.string().optional(),
	headers: z.record(z.string(), z.string()).optional(),
	tags: z.array(tag).optional(),
	attachments: z.array(attachment).optional(),
	scheduled_at: z.string().optional(),
	template: z.unknown().optional(),
	topic_id: z.unknown().optional(),
});

export type ResendEmail = z.infer<typeof resendEmailSchema>;
export type ResendError = { statusCode: number; name: string; message: string };

const TAG_CHARS = /^[A-Za-z0-9_-]+$/;

/** One Resend email → the relay's send request, or Resend's reason to refuse it. */
export function resendToSend(body: unknown): Result<SendRequest, ApiError> {
	const parsed = resendEmailSchema.safeParse(body);
	if (!parsed.success) {
		const first = describeIssues(parsed.error.issues)[0];
		return err(refuse(first?.path || "body", first?.message ?? "invalid"));
	}
	const email = parsed.data;
	const attachments = resendAttachments(email.attachments ?? []);
	if (!attachments.ok) return attachments;
	if (email.scheduled_at !== undefined) return err(refuse("scheduled_at", "scheduled sending is not supported yet"));
	if (email.template !== undefined) return err(refuse("template", "templates are not supported by this relay"));
	if (email.topic_id !== undefined) return err(refuse("topic_id", "topics are not supported by this relay"));
	for (const t of email.tags ?? []) {
		if (!TAG_CHARS.test(t.name) || (t.value !== undefined && t.value !== "" && !TAG_CHARS.test(t.value))) {
			return err(refuse("tags", "tag names and values may only contain ASCII letters, numbers, underscores or dashes"));
		}
	}
	return ok({
		from: email.from,
		to: email.to,
		...(email.cc !== undefined ? { cc: email.cc } : {}),
		...(email.bcc !== undefined ? { bcc: email.bcc } : {}),
		...(email.reply_to !== undefined ? { reply_to: email.reply_to } : {}),
		subject: email.subject,
		...(email.html !== undefined ? { html: email.html } : {}),
		...(email.text !== undefined ? { text: email.text } : {}),
		...(email.headers !== undefined ? { headers: email.headers } : {}),
		...(email.tags ? { tags: email.tags.map((t) => (t.value ? `${t.name}:${t.value}` : t.name)) } : {}),
		...(attachments.value.length > 0 ? { attachments: attachments.value } : {}),
	});
}

function resendAttachments(list: readonly z.infer<typeof attachment>[]): Result<SendAttachment[], ApiError> {
	const out: SendAttachment[] = [];
	for (const [i, a] of list.entries()) {
		const field = `attachments.${i}`;
		if (a.path !== undefined) {
			return err(
				refuse(`${field}.path`, "remote files are not fetched by this relay; send the file as content (base64)"),
			);
		}
		if (a.content === undefined) return err(refuse(`${field}.content`, "content is required"));
		if (!a.filename) return err(refuse(`${field}.filename`, "filename is required"));
		const content =
			typeof a.content === "string"
				? a.content
				: toBase64(Uint8Array.from(Array.isArray(a.content) ? a.content : a.content.data));
		out.push(attachmentOf(a.filename, content, a.content_type, a.content_id));
	}
	return ok(out);
}

const BY_CODE: Partial<Record<ErrorCode, { statusCode: number; name: string }>> = {
	validation_error: { statusCode: 422, name: "validation_error" },
	header_not_allowed: { statusCode: 422, name: "validation_error" },
	// Resend answers an unverified sending domain with 403 validation_error.
	domain_not_verified: { statusCode: 403, name: "validation_error" },
	invalid_json: { statusCode: 400, name: "validation_error" },
	invalid_request: { statusCode: 400, name: "validation_error" },
	unsupported_media_type: { statusCode: 400, name: "validation_error" },
	payload_too_large: { statusCode: 413, name: "validation_error" },
	unauthorized: { statusCode: 403, name: "invalid_api_key" },
	forbidden: { statusCode: 401, name: "restricted_api_key" },
	not_found: { statusCode: 404, name: "not_found" },
	method_not_allowed: { statusCode: 405, name: "method_not_allowed" },
	invalid_idempotency_key: { statusCode: 400, name: "invalid_idempotency_key" },
	idempotency_key_reused: { statusCode: 409, name: "invalid_idempotent_request" },
	idempotency_key_in_use: { statusCode: 409, name: "concurrent_idempotent_requests" },
	conflict: { statusCode: 409, name: "concurrent_idempotent_requests" },
	rate_limited: { statusCode: 429, name: "rate_limit_exceeded" },
	service_unavailable: { statusCode: 503, name: "application_error" },
};

export function resendError(error: ApiError): ResendError {
	if (error instanceof MissingKeyError) {
		return { statusCode: 401, name: "missing_api_key", message: "Missing API key in the authorization header." };
	}
	const mapped = BY_CODE[error.code] ?? { statusCode: 500, name: "internal_server_error" };
	return { ...mapped, message: error.message };
}

type LastEvent =
	| "queued"
	| "scheduled"
	| "sent"
	| "delivered"
	| "delivery_delayed"
	| "bounced"
	| "failed"
	| "canceled"
	| "suppressed"
	| "complained";

const LAST_EVENT: Record<EmailView["status"], LastEvent> = {
	scheduled: "scheduled",
	queued: "queued",
	processing: "queued",
	deferred: "delivery_delayed",
	sent: "sent",
	delivered: "delivered",
	bounced: "bounced",
	rejected: "failed",
	failed: "failed",
	cancelled: "canceled",
	suppressed: "suppressed",
	complained: "complained",
};

const emails = (list: EmailView["to"]) => list.map((m) => formatMailbox({ email: m.email, name: m.name ?? undefined }));
const orNull = (list: string[]) => (list.length > 0 ? list : null);

/** GET /emails/{id} in Resend's shape. The relay does not return stored content here, so html/text are null. */
export function resendEmailView(view: EmailView) {
	return {
		object: "email" as const,
		id: view.id,
		from: view.from ? formatMailbox({ email: view.from.email, name: view.from.name ?? undefined }) : "",
		to: emails(view.to),
		cc: orNull(emails(view.cc)),
		bcc: orNull(emails(view.bcc)),
		reply_to: orNull(emails(view.reply_to)),
		subject: view.subject ?? "",
		html: null,
		text: null,
		created_at: view.created_at,
		scheduled_at: null,
		last_event: LAST_EVENT[view.status],
		tags: view.tags.map((t) => {
			const at = t.indexOf(":");
			return at < 0 ? { name: t, value: "" } : { name: t.slice(0, at), value: t.slice(at + 1) };
		}),
	};
}
