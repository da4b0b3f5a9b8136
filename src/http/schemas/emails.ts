// The email API's request and response shapes (Resend/Postmark-like).
import { z } from "@hono/zod-openapi";
import { MESSAGE_STATUSES } from "../../db/schema";
import { parseMailbox } from "../../lib/address";
import { RESERVED_HEADERS } from "../../providers/mime";
import exampleEmail from "./example-email.json";

/** The message of the README and the docs, also the example of the OpenAPI document. */
export const EXAMPLE_EMAIL = exampleEmail;

export const MAX_RECIPIENTS = 50;
export const MAX_BATCH = 1000;

const mailbox = z
	.string()
	.max(998)
	.refine((v) => parseMailbox(v) !== null, { message: "is not a valid email address" })
	.openapi({ example: "Ada <ada@example.test>" });

const mailboxes = z.union([mailbox, z.array(mailbox).max(MAX_RECIPIENTS)]);

const headerName = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,76}$/;

export const SendEmailSchema = z
	.strictObject({
		from: mailbox.openapi({ description: "Sender; its domain must be a verified domain of the workspace." }),
		to: mailboxes,
		cc: mailboxes.optional(),
		bcc: mailboxes.optional(),
		reply_to: mailboxes.optional(),
		subject: z.string().min(1).max(998),
		html: z.string().optional(),
		text: z.string().optional(),
		headers: z
			.record(
				z.string().regex(headerName, "is not a valid header name"),
				z
					.string()
					.max(998)
					.regex(/^[^\r\n]*$/, "must be one line"),
			)
			.refine((h) => Object.keys(h).every((name) => !RESERVED_HEADERS.has(name.toLowerCase())), {
				message: "may not set From, To, Cc, Bcc, Subject, Date, Message-ID, Reply-To or content headers",
			})
			.optional(),
		tags: z
			.array(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "must be 1-64 letters, digits, _ . : or -"))
			.max(20)
			.optional(),
		metadata: z
			.record(z.string().min(1).max(64), z.string().max(1024))
			.refine((m) => Object.keys(m).length <= 50, { message: "may have at most 50 keys" })
			.optional(),
	})
	.superRefine((body, ctx) => {
		if (body.html === undefined && body.text === undefined) {
			ctx.addIssue({ code: "custom", path: ["text"], message: "html or text is required" });
		}
		const n = [body.to, body.cc, body.bcc].reduce<number>(
			(sum, v) => sum + (v === undefined ? 0 : Array.isArray(v) ? v.length : 1),
			0,
		);
		if (n === 0) ctx.addIssue({ code: "custom", path: ["to"], message: "at least one recipient is required" });
		if (n > MAX_RECIPIENTS) {
			ctx.addIssue({
				code: "custom",
				path: ["to"],
				message: `at most ${MAX_RECIPIENTS} recipients in all (to, cc, bcc)`,
			});
		}
	})
	.openapi("SendEmailRequest", { example: EXAMPLE_EMAIL });

export type SendEmailBody = z.infer<typeof SendEmailSchema>;

export const AcceptedSchema = z
	.object({ id: z.string().openapi({ example: "01JF3Z8W6Q9K2M4N5P7R8S9T0VABCD2345" }), status: z.literal("queued") })
	.openapi("Accepted");

// Items are validated one by one, so one bad item does not refuse the others.
export const BatchRequestSchema = z
	.array(z.record(z.string(), z.unknown()).openapi({ description: "A SendEmailRequest" }))
	.min(1)
	.max(MAX_BATCH)
	.openapi("BatchRequest", { description: `1 to ${MAX_BATCH} SendEmailRequest objects.` });

export const BatchItemResultSchema = z
	.union([
		z.object({ index: z.number(), id: z.string(), status: z.literal("queued") }),
		z.object({
			index: z.number(),
			error: z.object({ code: z.string(), message: z.string() }),
		}),
	])
	.openapi("BatchItemResult");

export const BatchResponseSchema = z
	.object({ data: z.array(BatchItemResultSchema), accepted: z.number(), rejected: z.number() })
	.openapi("BatchResponse");

const MailboxOut = z.object({ email: z.string(), name: z.string().nullable() });

export const EventSchema = z
	.object({
		type: z.string(),
		created_at: z.string(),
		recipient: z.string().nullable(),
		data: z.record(z.string(), z.unknown()),
	})
	.openapi("Event");

export const EmailSchema = z
	.object({
		id: z.string(),
		status: z.enum(MESSAGE_STATUSES),
		from: MailboxOut.nullable(),
		to: z.array(MailboxOut),
		cc: z.array(MailboxOut),
		bcc: z.array(MailboxOut),
		reply_to: z.array(MailboxOut),
		subject: z.string().nullable(),
		tags: z.array(z.string()),
		metadata: z.record(z.string(), z.string()),
		sandbox: z.boolean().nullable(),
		attempts: z.number(),
		last_error: z.string().nullable(),
		provider_message_id: z.string().nullable(),
		created_at: z.string(),
		sent_at: z.string().nullable(),
		events: z.array(EventSchema),
	})
	.openapi("Email");

export const EmailSummarySchema = EmailSchema.omit({ events: true, cc: true, bcc: true, reply_to: true }).openapi(
	"EmailSummary",
);

export const EmailListQuerySchema = z.object({
	status: z
		.enum(MESSAGE_STATUSES)
		.optional()
		.openapi({ param: { name: "status", in: "query" } }),
	tag: z
		.string()
		.max(64)
		.optional()
		.openapi({ param: { name: "tag", in: "query" } }),
	date_from: z.iso
		.datetime({ offset: true })
		.optional()
		.openapi({ param: { name: "date_from", in: "query" }, description: "Created at or after (ISO 8601)" }),
	date_to: z.iso
		.datetime({ offset: true })
		.optional()
		.openapi({ param: { name: "date_to", in: "query" }, description: "Created before (ISO 8601)" }),
});

export const EmailListSchema = z
	.object({ data: z.array(EmailSummarySchema), has_more: z.boolean(), next_cursor: z.string().nullable() })
	.openapi("EmailList");

export const EmailIdParamSchema = z.object({
	id: z
		.string()
		.max(64)
		.openapi({ param: { name: "id", in: "path" } }),
});
