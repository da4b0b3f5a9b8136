// What the API accepts and the `send` queue carries: the normalized message and the jobs around it.
// Queue bodies are validated with these schemas by the consumer (STYLE.md rule 5).
import { z } from "zod";

const mailbox = z.object({ email: z.string(), name: z.string().optional() });

const attachment = z.object({
	filename: z.string(),
	contentType: z.string(),
	/** Base64 of the bytes. */
	content: z.string(),
	/** Set for an inline part the HTML references as `cid:<contentId>`. */
	contentId: z.string().optional(),
});

export type Attachment = z.infer<typeof attachment>;

export const acceptedMessageSchema = z.object({
	from: mailbox,
	to: z.array(mailbox),
	cc: z.array(mailbox),
	bcc: z.array(mailbox),
	replyTo: z.array(mailbox),
	subject: z.string(),
	html: z.string().optional(),
	text: z.string().optional(),
	headers: z.record(z.string(), z.string()),
	tags: z.array(z.string()),
	metadata: z.record(z.string(), z.string()),
	/** Absent on jobs accepted before attachments existed; such jobs simply have none. */
	attachments: z.array(attachment).optional(),
	/**
	 * The client's RFC 5322 message as received over SMTP (CRLF, decoded as UTF-8): delivered as sent,
	 * only its headers changed (render stage raw mode, docs/smtp.md). The fields above are parsed from it.
	 */
	raw: z.string().optional(),
});

export type AcceptedMessage = z.infer<typeof acceptedMessageSchema>;

/** A message the API accepted: the first time the consumer sees it, before it has a row. */
export const sendJobSchema = z
	.object({
		v: z.literal(1),
		kind: z.literal("accepted"),
		id: z.string(),
		workspaceId: z.string(),
		apiKeyId: z.string().nullable(),
		sandbox: z.boolean(),
		/** Milliseconds; the 202's time, also encoded in the id. */
		acceptedAt: z.number(),
		/** The named queue (issue 9): the workspace's `default` queue when the request named none. */
		queueId: z.string().optional(),
		/** How it arrived; absent means the API. */
		source: z.enum(["api", "smtp"]).optional(),
		/** The SMTP client's IP as the bridge reported it (X-Client-IP), for GET /v1/emails/{id}. */
		clientIp: z.string().optional(),
		/** The queue's priority when known: picks the Cloudflare Queue band (messages/bands.ts). */
		priority: z.number().int().min(1).max(10).optional(),
		/** The message itself when the job fits a queue message... */
		message: acceptedMessageSchema.optional(),
		/** ...otherwise the R2 key it was written to before the 202. */
		contentKey: z.string().optional(),
	})
	.refine((job) => (job.message === undefined) !== (job.contentKey === undefined), {
		message: "a send job carries either message or contentKey",
	});

export type SendJob = z.infer<typeof sendJobSchema>;

/**
 * Another attempt at a message that already has a row: a deferral's next attempt, a lease that must
 * expire first, a recovery, or mail held while its workspace is suspended. The row is the truth; the job only names it.
 */
export const redriveJobSchema = z.object({
	v: z.literal(1),
	kind: z.literal("redrive"),
	id: z.string(),
	workspaceId: z.string(),
	reason: z.enum(["deferred", "lease_held", "not_due", "recovered", "suspended", "resumed"]),
	/** The message's queue priority when known: picks the Cloudflare Queue band (messages/bands.ts). */
	priority: z.number().int().min(1).max(10).optional(),
});

export type RedriveJob = z.infer<typeof redriveJobSchema>;

/** Everything the `send` queue carries. */
export const queueJobSchema = z.union([sendJobSchema, redriveJobSchema]);

export type QueueJob = z.infer<typeof queueJobSchema>;

export function recipientCount(message: AcceptedMessage): number {
	return message.to.length + message.cc.length + message.bcc.length;
}
