// The `send` queue consumer (DESIGN.md "Send consumer"): materialize the batch into D1 and claim it
// in one D1 batch, deliver each claimed message through its gateway, record every outcome in one more
// D1 batch, then ack or retry each message on its own. Redelivery is harmless: materialization is
// idempotent and only messages still waiting are claimed.
import type { MaterializeRow, Outcome, RecipientRow } from "../../db/repositories/delivery";
import { materializeAndClaim, recordOutcomes } from "../../db/repositories/delivery";
import { count } from "../../lib/metrics";
import { deliverWithTimeout, selectGateway } from "../../providers/registry";
import { DELIVERY_TIMEOUT_MS, type DeliveryResult } from "../../providers/types";
import { type AcceptedMessage, acceptedMessageSchema, type SendJob, sendJobSchema } from "../messages/model";
import { retryDelaySeconds, STORAGE_RETRY_DELAY_SECONDS } from "./retry";

export type SendConsumerDeps = { db: D1Database; bodies: R2Bucket; deadLetter: Queue };

/** A queue body the consumer could not use, as it is put on the DLQ. */
export type DeadLetter = { deadLettered: { reason: string; body: unknown } };

/** Content above this size stays in R2 only; D1 rows keep at most this much (DESIGN.md "Storage"). */
const D1_CONTENT_LIMIT = 256 * 1024;

type Work = { queued: Message<unknown>; job: SendJob; message: AcceptedMessage };

export async function consumeSendBatch(batch: MessageBatch<unknown>, deps: SendConsumerDeps): Promise<void> {
	const work = (await Promise.all(batch.messages.map((m) => readJob(m, deps)))).filter((w) => w !== null);
	if (work.length === 0) return;

	const now = Date.now();
	let materialized: Awaited<ReturnType<typeof materializeAndClaim>>;
	try {
		materialized = await materializeAndClaim(
			deps.db,
			work.map(toRow),
			work.flatMap(toRecipients),
			work.map((w) => w.job.id),
			now,
		);
	} catch (error) {
		console.error("send consumer: materialize failed, retrying batch", { error: String(error) });
		for (const w of work) w.queued.retry({ delaySeconds: STORAGE_RETRY_DELAY_SECONDS });
		return;
	}
	count("messages_materialized_total", work.length);

	const claimed: Work[] = [];
	for (const w of work) {
		const state = materialized.states.get(w.job.id);
		if (!state) {
			// Only possible when the workspace is gone: there is nobody left to deliver for.
			console.warn("send consumer: dropping message of a deleted workspace", { id: w.job.id });
			w.queued.ack();
		} else if (state.status === "processing") {
			claimed.push(w);
		} else {
			// Already sent, rejected, failed or cancelled: a redelivery changes nothing.
			w.queued.ack();
		}
	}

	const outcomes = await Promise.all(
		claimed.map((w) => deliver(w, materialized.states.get(w.job.id)?.attempts ?? 1, materialized.gateways, deps)),
	);
	try {
		await recordOutcomes(deps.db, outcomes, Date.now());
	} catch (error) {
		// The attempts happened but were not recorded; retrying re-runs them (at-least-once).
		console.error("send consumer: recording outcomes failed, retrying claimed messages", { error: String(error) });
		for (const w of claimed) w.queued.retry({ delaySeconds: STORAGE_RETRY_DELAY_SECONDS });
		return;
	}

	claimed.forEach((w, i) => {
		const outcome = outcomes[i];
		if (outcome?.status === "deferred") {
			count("messages_deferred_total");
			w.queued.retry({ delaySeconds: retryDelaySeconds(outcome.attempt) });
		} else {
			if (outcome?.status === "sent") count("messages_sent_total");
			else count("messages_failed_total");
			w.queued.ack();
		}
	});
}

async function readJob(queued: Message<unknown>, deps: SendConsumerDeps): Promise<Work | null> {
	const parsed = sendJobSchema.safeParse(queued.body);
	if (!parsed.success)
		return deadLetter(queued, `invalid send job: ${parsed.error.issues[0]?.message ?? "unknown"}`, deps);
	const job = parsed.data;
	if (job.message) return { queued, job, message: job.message };
	const stored = job.contentKey ? await deps.bodies.get(job.contentKey) : null;
	if (!stored) return deadLetter(queued, `content ${job.contentKey} is missing from R2`, deps);
	const message = acceptedMessageSchema.safeParse(await stored.json().catch(() => null));
	if (!message.success) return deadLetter(queued, `content ${job.contentKey} is not a valid message`, deps);
	return { queued, job, message: message.data };
}

async function deadLetter(queued: Message<unknown>, reason: string, deps: SendConsumerDeps): Promise<null> {
	console.error("send consumer: dead-lettering", { id: queued.id, reason });
	const letter: DeadLetter = { deadLettered: { reason, body: queued.body } };
	try {
		await deps.deadLetter.send(letter, { contentType: "json" });
		queued.ack();
	} catch {
		queued.retry({ delaySeconds: STORAGE_RETRY_DELAY_SECONDS });
	}
	return null;
}

function toRow({ job, message }: Work): MaterializeRow {
	const content = (message.html?.length ?? 0) + (message.text?.length ?? 0);
	const inline = content <= D1_CONTENT_LIMIT;
	return {
		id: job.id,
		workspace_id: job.workspaceId,
		api_key_id: job.apiKeyId,
		sandbox: job.sandbox ? 1 : 0,
		from_email: message.from.email,
		from_name: message.from.name ?? null,
		reply_to: JSON.stringify(message.replyTo),
		subject: message.subject,
		html: inline ? (message.html ?? null) : null,
		text: inline ? (message.text ?? null) : null,
		headers: JSON.stringify(message.headers),
		tags: JSON.stringify(message.tags),
		metadata: JSON.stringify(message.metadata),
		content_key: job.contentKey ?? null,
		created_at: job.acceptedAt,
	};
}

function toRecipients({ job, message }: Work): RecipientRow[] {
	const rows = (kind: RecipientRow["k"], list: AcceptedMessage["to"]) =>
		list.map((m) => ({ m: job.id, k: kind, e: m.email, n: m.name ?? null }));
	return [...rows("to", message.to), ...rows("cc", message.cc), ...rows("bcc", message.bcc)];
}

async function deliver(
	w: Work,
	attempt: number,
	gateways: Parameters<typeof selectGateway>[2],
	deps: SendConsumerDeps,
): Promise<Outcome> {
	const base = { id: w.job.id, workspace_id: w.job.workspaceId, attempt, provider_message_id: null, mime_key: null };
	const choice = selectGateway(w.job.workspaceId, w.job.sandbox, gateways, deps.bodies);
	if (!choice.gateway) return { ...base, status: "failed", gateway_id: null, error: choice.reason };
	const { gateway } = choice;
	const result: DeliveryResult = await deliverWithTimeout(
		(signal) => gateway.send({ id: w.job.id, workspaceId: w.job.workspaceId, attempt, message: w.message }, signal),
		DELIVERY_TIMEOUT_MS,
	);
	if (result.ok) {
		return {
			...base,
			status: "sent",
			gateway_id: gateway.id,
			provider_message_id: result.providerMessageId,
			mime_key: result.mimeKey ?? null,
			error: null,
		};
	}
	const status = result.kind === "permanent" ? "rejected" : "deferred";
	return { ...base, status, gateway_id: gateway.id, error: `${result.kind}: ${result.message}` };
}
