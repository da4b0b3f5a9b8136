// The API write path after validation: normalize, check the sender against the workspace's verified
// domains, and make the message durable on the `send` queue before anyone answers 202.
import { type ApiError, ApiError as ApiErrorClass, err, ok, type Result } from "../../errors";
import { domainOf, type Mailbox, parseMailbox } from "../../lib/address";
import { utf8Length } from "../../lib/encoding";
import { newMessageId } from "../../lib/ids";
import { count } from "../../lib/metrics";
import type { AcceptedMessage, SendJob } from "./model";

/** The request as the API schema admits it (see src/http/schemas/emails.ts). */
export type SendEmailInput = {
	from: string;
	to: string | string[];
	cc?: string | string[] | undefined;
	bcc?: string | string[] | undefined;
	reply_to?: string | string[] | undefined;
	subject: string;
	html?: string | undefined;
	text?: string | undefined;
	headers?: Record<string, string> | undefined;
	tags?: string[] | undefined;
	metadata?: Record<string, string> | undefined;
};

export type Sender = {
	workspaceId: string;
	apiKeyId: string | null;
	sandbox: boolean;
	verifiedDomains: readonly string[];
};

export type SendDeps = {
	signingKey: string;
	queue: Queue;
	bodies: R2Bucket;
};

/** Queue messages are capped at 128 KB; above this serialized size the content goes to R2 first. */
export const INLINE_JOB_LIMIT_BYTES = 120 * 1024;
/** `sendBatch` takes at most 100 messages and 256 KB. */
const SEND_BATCH_MAX_MESSAGES = 100;
const SEND_BATCH_MAX_BYTES = 250 * 1024;

function mailboxes(value: string | string[] | undefined): Mailbox[] {
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
		to: mailboxes(input.to),
		cc: mailboxes(input.cc),
		bcc: mailboxes(input.bcc),
		replyTo: mailboxes(input.reply_to),
		subject: input.subject,
		...(input.html !== undefined ? { html: input.html } : {}),
		...(input.text !== undefined ? { text: input.text } : {}),
		headers: input.headers ?? {},
		tags: input.tags ?? [],
		metadata: input.metadata ?? {},
	};
}

export function checkSender(message: AcceptedMessage, sender: Sender): Result<true, ApiError> {
	const domain = domainOf(message.from.email);
	if (sender.verifiedDomains.includes(domain)) return ok(true);
	return err(
		new ApiErrorClass(
			"domain_not_verified",
			`The sender domain "${domain}" is not a verified domain of this workspace. Add it with POST /v1/domains and verify it, or send from a verified domain.`,
		),
	);
}

type PreparedJob = { job: SendJob; body: string };

/** Builds the job for one accepted message, moving oversized content to R2 (written before the 202). */
export async function prepareJob(message: AcceptedMessage, sender: Sender, deps: SendDeps): Promise<PreparedJob> {
	const acceptedAt = Date.now();
	const id = await newMessageId(deps.signingKey, sender.workspaceId, acceptedAt);
	const job: SendJob = {
		v: 1,
		kind: "accepted",
		id,
		workspaceId: sender.workspaceId,
		apiKeyId: sender.apiKeyId,
		sandbox: sender.sandbox,
		acceptedAt,
		message,
	};
	const body = JSON.stringify(job);
	if (utf8Length(body) <= INLINE_JOB_LIMIT_BYTES) return { job, body };
	const contentKey = `content/${sender.workspaceId}/${id}.json`;
	await deps.bodies.put(contentKey, JSON.stringify(message), {
		httpMetadata: { contentType: "application/json" },
	});
	const { message: _inline, ...rest } = job;
	const slim: SendJob = { ...rest, contentKey };
	return { job: slim, body: JSON.stringify(slim) };
}

export async function enqueueOne(prepared: PreparedJob, deps: SendDeps): Promise<void> {
	await deps.queue.send(prepared.job, { contentType: "json" });
	count("queue_send_calls_total");
	count("queue_messages_sent_total");
	count("emails_accepted_total");
}

/**
 * Sends jobs in as few `sendBatch` calls as the platform limits allow (100 messages / 256 KB each),
 * all in parallel. Returns, per job, whether its chunk was made durable.
 */
export async function enqueueMany(prepared: PreparedJob[], deps: SendDeps): Promise<boolean[]> {
	const chunks: number[][] = [];
	let current: number[] = [];
	let bytes = 0;
	prepared.forEach((p, index) => {
		const size = utf8Length(p.body) + 64;
		if (current.length === SEND_BATCH_MAX_MESSAGES || (current.length > 0 && bytes + size > SEND_BATCH_MAX_BYTES)) {
			chunks.push(current);
			current = [];
			bytes = 0;
		}
		current.push(index);
		bytes += size;
	});
	if (current.length > 0) chunks.push(current);

	const durable = prepared.map(() => false);
	await Promise.all(
		chunks.map(async (indexes) => {
			try {
				await deps.queue.sendBatch(indexes.map((i) => ({ body: prepared[i]?.job, contentType: "json" as const })));
				count("queue_send_calls_total");
				count("queue_messages_sent_total", indexes.length);
				count("emails_accepted_total", indexes.length);
				for (const i of indexes) durable[i] = true;
			} catch (error) {
				console.error("send queue sendBatch failed", { size: indexes.length, error: String(error) });
			}
		}),
	);
	return durable;
}
