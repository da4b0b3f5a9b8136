// The one validation of a send request, for every way mail comes in (HTTP API and batch items today;
// the SMTP bridge, templates, scheduled jobs and the seed-compatible routes next): parse, normalize,
// apply the header policy and check the sender against the workspace's verified domains.
import { z } from "zod";
import { ApiError, err, ok, type Result, validationError } from "../../errors";
import { domainOf, type Mailbox, parseMailbox } from "../../lib/address";
import { checkHeaders, hasControlChars } from "./headers";
import type { AcceptedMessage } from "./model";

export const MAX_RECIPIENTS = 50;

/** Who is sending, as far as acceptance cares. */
export type Sender = {
	workspaceId: string;
	apiKeyId: string | null;
	sandbox: boolean;
	verifiedDomains: readonly string[];
	/** Verified domains whose subdomains may send too. */
	verifiedParentDomains?: readonly string[];
	/** Domains of the workspace that may not send, with why ("pending" or the failure reason). */
	unverifiedDomains?: Readonly<Record<string, string>>;
	/** Issue 9: the workspace's named queues, for `"queue"`. */
	queues?: readonly { id: string; name: string; priority?: number }[];
	/** Set by the SMTP routes: the message's `source`, and the client's IP when the bridge reported it. */
	source?: "smtp";
	clientIp?: string | null;
};

const NO_CONTROL = "may not contain CR, LF or other control characters";

const mailbox = z
	.string()
	.max(998)
	.refine((v) => !hasControlChars(v), { message: NO_CONTROL })
	.refine((v) => parseMailbox(v) !== null, { message: "is not a valid email address" })
	.meta({ example: "Ada <ada@example.test>" });

const mailboxes = z.union([mailbox, z.array(mailbox).max(MAX_RECIPIENTS)]);

export const MAX_ATTACHMENTS = 20;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MIME_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

const attachmentSchema = z.strictObject({
	filename: z
		.string()
		.min(1)
		.max(255)
		.refine((v) => !hasControlChars(v) && !/["\\/]/.test(v), {
			message: 'may not contain control characters, quotes, "/" or "\\"',
		}),
	content: z
		.string()
		.min(1)
		.transform((v) => v.replace(/\s+/g, ""))
		.refine((v) => BASE64.test(v), { message: "must be base64" })
		.meta({ description: "The file's bytes in base64 (line breaks allowed)." }),
	content_type: z.string().regex(MIME_TYPE, "is not a MIME type such as application/pdf").optional(),
	content_id: z
		.string()
		.regex(/^[A-Za-z0-9._@-]{1,128}$/, "must be 1-128 letters, digits, . _ @ or -")
		.optional()
		.meta({ description: 'Makes the part inline, for `<img src="cid:…">` in the HTML.' }),
});

const recipientCount = (v: string | string[] | undefined) => (v === undefined ? 0 : Array.isArray(v) ? v.length : 1);

export const sendEmailSchema = z
	.strictObject({
		from: mailbox.meta({ description: "Sender; its domain must be a verified domain of the workspace." }),
		to: mailboxes,
		cc: mailboxes.optional(),
		bcc: mailboxes.optional(),
		reply_to: mailboxes.optional(),
		subject: z
			.string()
			.min(1)
			.max(998)
			.refine((v) => !hasControlChars(v), { message: NO_CONTROL }),
		html: z.string().optional(),
		text: z.string().optional(),
		headers: z.record(z.string(), z.string()).optional().meta({
			description:
				"Extra headers: X-* (not X-Mail-Queue-*), List-*, In-Reply-To, References and a few more (docs/api.md). At most 50; name + value ≤ 998 octets; one line each.",
		}),
		tags: z
			.array(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "must be 1-64 letters, digits, _ . : or -"))
			.max(20)
			.optional(),
		metadata: z
			.record(z.string().min(1).max(64), z.string().max(1024))
			.refine((m) => Object.keys(m).length <= 50, { message: "may have at most 50 keys" })
			.optional(),
		attachments: z
			.array(attachmentSchema)
			.max(MAX_ATTACHMENTS)
			.optional()
			.meta({ description: "Files, counted in the request size limit (10 MB by default)." }),
		queue: z.string().min(1).max(100).optional().meta({
			description: "A queue of the workspace, by name or id (POST /v1/queues); `default` when omitted.",
		}),
	})
	.superRefine((body, ctx) => {
		if (body.html === undefined && body.text === undefined) {
			ctx.addIssue({ code: "custom", path: ["text"], message: "html or text is required" });
		}
		const n = recipientCount(body.to) + recipientCount(body.cc) + recipientCount(body.bcc);
		if (n === 0) ctx.addIssue({ code: "custom", path: ["to"], message: "at least one recipient is required" });
		if (n > MAX_RECIPIENTS) {
			ctx.addIssue({
				code: "custom",
				path: ["to"],
				message: `at most ${MAX_RECIPIENTS} recipients in all (to, cc, bcc)`,
			});
		}
	});

export type SendEmailInput = z.output<typeof sendEmailSchema>;

function toMailboxes(value: string | string[] | undefined): Mailbox[] {
	const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
	// The schema already refused unparsable addresses, so every entry parses here.
	return list.flatMap((entry) => {
		const parsed = parseMailbox(entry);
		return parsed ? [parsed] : [];
	});
}

export function normalize(input: SendEmailInput): AcceptedMessage {
	const from = parseMailbox(input.from) ?? { email: input.from };
	return {
		from,
		to: toMailboxes(input.to),
		cc: toMailboxes(input.cc),
		bcc: toMailboxes(input.bcc),
		replyTo: toMailboxes(input.reply_to),
		subject: input.subject,
		...(input.html !== undefined ? { html: input.html } : {}),
		...(input.text !== undefined ? { text: input.text } : {}),
		headers: input.headers ?? {},
		tags: input.tags ?? [],
		metadata: input.metadata ?? {},
		...(input.attachments?.length
			? {
					attachments: input.attachments.map((a) => ({
						filename: a.filename,
						contentType: a.content_type ?? contentTypeOf(a.filename),
						content: a.content,
						...(a.content_id ? { contentId: a.content_id } : {}),
					})),
				}
			: {}),
	};
}

const CONTENT_TYPES: Record<string, string> = {
	pdf: "application/pdf",
	png: "image/png",
	jpg: "image/jpeg",
	jpeg: "image/jpeg",
	gif: "image/gif",
	svg: "image/svg+xml",
	webp: "image/webp",
	txt: "text/plain",
	csv: "text/csv",
	html: "text/html",
	ics: "text/calendar",
	json: "application/json",
	zip: "application/zip",
	xml: "application/xml",
	doc: "application/msword",
	docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	xls: "application/vnd.ms-excel",
	xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
};

/** The type a mail client expects for a file name, when the client gave none. */
function contentTypeOf(filename: string): string {
	const ext = filename.slice(filename.lastIndexOf(".") + 1).toLowerCase();
	return CONTENT_TYPES[ext] ?? "application/octet-stream";
}

export function checkSender(message: AcceptedMessage, sender: Sender): Result<true, ApiError> {
	const domain = domainOf(message.from.email);
	if (sender.verifiedDomains.includes(domain)) return ok(true);
	if (sender.verifiedParentDomains?.some((parent) => domain.endsWith(`.${parent}`))) return ok(true);
	const why = sender.unverifiedDomains?.[domain];
	const fix = "Publish its records (GET /v1/domains) and POST /v1/domains/{id}/verify, or send from a verified domain.";
	let text: string;
	if (why === undefined) {
		text = `The sender domain "${domain}" is not a verified domain of this workspace. Add it with POST /v1/domains and verify it, or send from a verified domain.`;
	} else if (why === "pending") {
		text = `The sender domain "${domain}" is pending verification: its TXT record _mailqueue.${domain} has not been found yet. ${fix}`;
	} else {
		text = `The sender domain "${domain}" failed verification: ${why}. ${fix}`;
	}
	return err(new ApiError("domain_not_verified", text));
}

/** The `"queue"` of a send request that validateSend accepted. */
export function requestedQueue(input: unknown): string | undefined {
	const queue = input && typeof input === "object" ? (input as { queue?: unknown }).queue : undefined;
	return typeof queue === "string" ? queue : undefined;
}

/** A send request as received (any JSON value) → the message to accept, or why it cannot be. */
export function validateSend(input: unknown, sender: Sender): Result<AcceptedMessage, ApiError> {
	const parsed = sendEmailSchema.safeParse(input);
	if (!parsed.success) return err(validationError(parsed.error.issues));
	const message = normalize(parsed.data);
	const headers = checkHeaders(message.headers);
	if (!headers.ok) return headers;
	const allowed = checkSender(message, sender);
	if (!allowed.ok) return allowed;
	return ok(message);
}
