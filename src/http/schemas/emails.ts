// The email API's request and response shapes (Resend/Postmark-like) for the OpenAPI document.
import { z } from "@hono/zod-openapi";
import { MESSAGE_STATUSES } from "../../db/schema";
import { MAX_BATCH } from "../../domain/messages/submit";
import { sendEmailSchema } from "../../domain/messages/validate";
import exampleEmail from "./example-email.json";

/** The message of the README and the docs, also the example of the OpenAPI document. */
export const EXAMPLE_EMAIL = exampleEmail;

// The domain owns the schema (src/domain/messages/validate.ts); HTTP only names and documents it.
export const SendEmailSchema = sendEmailSchema.openapi("SendEmailRequest", { example: EXAMPLE_EMAIL });

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
		source: z
			.enum(["api", "smtp", "scheduled"])
			.nullable()
			.openapi({ description: "How the message arrived; null while it is not materialized yet" }),
		client_ip: z
			.string()
			.nullable()
			.openapi({ description: "SMTP: the client's IP as the SMTP bridge reported it; null otherwise" }),
		attempts: z.number(),
		last_error: z.string().nullable(),
		provider_message_id: z.string().nullable(),
		created_at: z.string(),
		sent_at: z.string().nullable(),
		events: z.array(EventSchema),
		recipients: z
			.array(
				z.object({
					email: z.string(),
					kind: z.enum(["to", "cc", "bcc"]),
					status: z.enum(MESSAGE_STATUSES),
					return_path: z.string().openapi({
						description: "The VERP bounce address this recipient's copy is sent with (docs/inbound.md)",
					}),
				}),
			)
			.optional()
			.openapi({ description: "Each envelope recipient, once the message is materialized" }),
	})
	.openapi("Email");

export const EmailSummarySchema = EmailSchema.omit({
	events: true,
	cc: true,
	bcc: true,
	reply_to: true,
	recipients: true,
}).openapi("EmailSummary");

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
