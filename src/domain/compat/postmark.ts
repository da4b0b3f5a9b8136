// Postmark's API (POST /email, POST /email/batch) mapped onto the relay's send request.
// Maps: From, To/Cc/Bcc/ReplyTo (comma-separated), Subject, HtmlBody, TextBody, Headers
// `[{Name, Value}]`, Tag (→ one tag), Metadata (→ metadata), MessageStream "outbound" (the default
// stream, the only one the relay has), TrackOpens false / TrackLinks "None" (no tracking is asked),
// Attachments `[{Name, Content, ContentType, ContentID?}]` (ContentID, bare or `cid:x`, makes it inline).
// Refuses, with Postmark's 422 ErrorCode 300: TrackOpens
// true or other TrackLinks (no tracking yet), and any field Postmark does not define; another
// MessageStream answers ErrorCode 1235. Errors answer `{ErrorCode, Message}` with Postmark's codes:
// 10 (401) for a bad or missing token, 400 for an unverified sender, 300 for an invalid request.
import { z } from "zod";
import { ApiError, describeIssues, type ErrorCode, err, ok, type Result } from "../../errors";
import { attachmentOf, refuse, type SendRequest, splitAddresses } from "./common";

export const POSTMARK_MAX_BATCH = 500;

export const postmarkEmailSchema = z.strictObject({
	From: z.string(),
	To: z.string().optional(),
	Cc: z.string().optional(),
	Bcc: z.string().optional(),
	ReplyTo: z.string().optional(),
	Subject: z.string().optional(),
	HtmlBody: z.string().optional(),
	TextBody: z.string().optional(),
	Headers: z.array(z.strictObject({ Name: z.string(), Value: z.string() })).optional(),
	Tag: z.string().optional(),
	Metadata: z.record(z.string(), z.string()).optional(),
	MessageStream: z.string().optional(),
	TrackOpens: z.boolean().optional(),
	TrackLinks: z.string().optional(),
	Attachments: z
		.array(
			z.strictObject({
				Name: z.string(),
				Content: z.string(),
				ContentType: z.string().optional(),
				ContentID: z.string().nullish(),
				// The Postmark SDK's Attachment type carries it; the relay measures the content itself.
				ContentLength: z.number().optional(),
			}),
		)
		.optional(),
});

export type PostmarkError = { status: number; body: { ErrorCode: number; Message: string } };

const list = (value: string | undefined) => (value === undefined ? undefined : splitAddresses(value));

/** A refusal that must answer another Postmark ErrorCode than the one its domain code maps to. */
export class PostmarkRefusal extends ApiError {
	constructor(
		readonly errorCode: number,
		message: string,
	) {
		super("validation_error", message);
	}
}

/** One Postmark message → the relay's send request, or Postmark's reason to refuse it. */
export function postmarkToSend(body: unknown): Result<SendRequest, ApiError> {
	const parsed = postmarkEmailSchema.safeParse(body);
	if (!parsed.success) {
		const first = describeIssues(parsed.error.issues)[0];
		return err(refuse(first?.path || "body", first?.message ?? "invalid"));
	}
	const m = parsed.data;
	if (m.MessageStream !== undefined && m.MessageStream !== "outbound") {
		return err(
			new PostmarkRefusal(
				1235,
				`The message stream "${m.MessageStream}" was not found: the relay has only the default transactional stream "outbound".`,
			),
		);
	}
	if (m.TrackOpens === true) return err(refuse("TrackOpens", "open tracking is not supported by this relay yet"));
	if (m.TrackLinks !== undefined && m.TrackLinks !== "None") {
		return err(refuse("TrackLinks", "link tracking is not supported by this relay yet"));
	}
	const headers = m.Headers ? Object.fromEntries(m.Headers.map((h) => [h.Name, h.Value])) : undefined;
	return ok({
		from: m.From,
		to: list(m.To) ?? [],
		...(m.Cc !== undefined ? { cc: list(m.Cc) } : {}),
		...(m.Bcc !== undefined ? { bcc: list(m.Bcc) } : {}),
		...(m.ReplyTo !== undefined ? { reply_to: list(m.ReplyTo) } : {}),
		subject: m.Subject ?? "",
		...(m.HtmlBody !== undefined ? { html: m.HtmlBody } : {}),
		...(m.TextBody !== undefined ? { text: m.TextBody } : {}),
		...(headers ? { headers } : {}),
		...(m.Tag !== undefined ? { tags: [m.Tag] } : {}),
		...(m.Metadata !== undefined ? { metadata: m.Metadata } : {}),
		...(m.Attachments && m.Attachments.length > 0
			? { attachments: m.Attachments.map((a) => attachmentOf(a.Name, a.Content, a.ContentType, a.ContentID)) }
			: {}),
	});
}

const BY_CODE: Partial<Record<ErrorCode, { status: number; errorCode: number }>> = {
	validation_error: { status: 422, errorCode: 300 },
	header_not_allowed: { status: 422, errorCode: 300 },
	payload_too_large: { status: 422, errorCode: 300 },
	invalid_idempotency_key: { status: 422, errorCode: 300 },
	idempotency_key_reused: { status: 422, errorCode: 300 },
	idempotency_key_in_use: { status: 409, errorCode: 300 },
	conflict: { status: 409, errorCode: 300 },
	// Postmark: "Sender signature not found".
	domain_not_verified: { status: 422, errorCode: 400 },
	invalid_json: { status: 422, errorCode: 402 },
	invalid_request: { status: 422, errorCode: 402 },
	unsupported_media_type: { status: 422, errorCode: 409 },
	unauthorized: { status: 401, errorCode: 10 },
	forbidden: { status: 401, errorCode: 10 },
	not_found: { status: 404, errorCode: 0 },
	method_not_allowed: { status: 405, errorCode: 0 },
	rate_limited: { status: 429, errorCode: 0 },
	service_unavailable: { status: 503, errorCode: 0 },
};

export function postmarkError(error: ApiError): PostmarkError {
	if (error instanceof PostmarkRefusal) {
		return { status: 422, body: { ErrorCode: error.errorCode, Message: error.message } };
	}
	const mapped = BY_CODE[error.code] ?? { status: 500, errorCode: 0 };
	const message =
		mapped.errorCode === 10 ? `Request does not contain a valid Server token: ${error.message}` : error.message;
	return { status: mapped.status, body: { ErrorCode: mapped.errorCode, Message: message } };
}

/** Postmark's answer for one accepted message. */
export function postmarkAccepted(input: SendRequest, id: string, at: Date) {
	const to = Array.isArray(input.to) ? input.to.join(", ") : input.to;
	return { To: to, SubmittedAt: at.toISOString(), MessageID: id, ErrorCode: 0, Message: "OK" };
}
