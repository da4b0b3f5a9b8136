// The `send` queue consumer (DESIGN.md "Send consumer"): materialize the batch into D1 and claim it
// with a lease in one D1 batch, render and deliver each claimed message, record every outcome in one
// more D1 batch under its lease, then ack each queue message or hand its next attempt back to the
// queue. Redelivery is harmless: materialization is idempotent, only a lease holder delivers, and a
// queue message for a row someone else holds, or that is not due yet, is re-sent for later rather
// than spending the queue's own retries (which count consumer failures, not deferrals).
import type { ClaimedRow, ClaimResult, QueueRow, RecipientState } from "../../db/repositories/delivery";
import { materializeAndClaim, PAUSED_UNTIL, recordOutcomes } from "../../db/repositories/delivery";
import { FINAL_MESSAGE_STATUSES } from "../../db/schema";
import type { Env } from "../../env";
import { randomToken } from "../../lib/crypto";
import { errorSummary } from "../../lib/log";
import { count } from "../../lib/metrics";
import { sendAll } from "../../lib/queue-batches";
import type { Envelope } from "../../providers/types";
import { type EventQueues, publishEvents } from "../events/emitter";
import type { VerpConfig } from "../inbound/verp";
import { withPriority } from "../messages/bands";
import { type AcceptedMessage, type QueueJob, queueJobSchema, type RedriveJob } from "../messages/model";
import { platformLimitsActive } from "../rate-limits/platform";
import { throttleOf } from "../reputation/model";
import { type Breakers, type DispatchJob, dispatch, NO_BREAKERS } from "./dispatch";
import { type GatewayDeps, GatewayPlan } from "./gateways";
import { limitItem, reserveForBatch } from "./limits";
import { type AttemptOutcome, type AttemptResult, classifyAttempt } from "./outcome";
import { deliveryKey, render } from "./render";
import {
	DEFAULT_RETRY_POLICY,
	LEASE_MS,
	MAX_QUEUE_DELAY_SECONDS,
	type RetryPolicy,
	STORAGE_RETRY_DELAY_SECONDS,
	SUSPENDED_HOLD_SECONDS,
} from "./retry";
import { messageFromRows, messageRow, readStoredContent, recipientRows } from "./rows";

export type SendConsumerDeps = {
	db: D1Database;
	sendQueue: Queue;
	deadLetter: Queue;
	events: EventQueues;
	gateways: GatewayDeps;
	/** The gateways' circuit breakers for a batch; none (everything admitted) when absent. */
	breakers?: (plan: GatewayPlan) => Breakers;
	/** Issue 9: the WorkspaceLimiter namespace; without it every claimed message may go. */
	limiter?: Env["WORKSPACE_LIMITER"];
	/** Issue 11: VERP bounce addresses as the envelope sender; without it the From address is used. */
	verp?: VerpConfig;
};

/** A queue body the consumer could not use, as it is put on the DLQ. */
export type DeadLetter = { deadLettered: { reason: string; body: unknown } };

type Work = { queued: Message<unknown>; job: QueueJob; message: AcceptedMessage | null };

/** A later attempt handed back to the queue: `queued` is acked once the redrive is durable. */
type Later = { queued: Message<unknown>; job: RedriveJob; delaySeconds: number };

const FINAL = FINAL_MESSAGE_STATUSES;

export async function consumeSendBatch(batch: MessageBatch<unknown>, deps: SendConsumerDeps): Promise<void> {
	const work = (await Promise.all(batch.messages.map((m) => readJob(m, deps)))).filter((w) => w !== null);
	if (work.length === 0) return;

	// One queue message per id does the work; copies in the same batch are acked once it is settled.
	const primary = new Map<string, Work>();
	const copies: Work[] = [];
	for (const w of work) {
		const first = primary.get(w.job.id);
		if (!first) primary.set(w.job.id, w);
		else if (!first.message && w.message) {
			// Keep the copy that carries content, so a new message is materialized from it.
			primary.set(w.job.id, w);
			copies.push(first);
		} else copies.push(w);
	}
	const unique = [...primary.values()];

	const now = Date.now();
	const token = randomToken(12);
	let claim: ClaimResult;
	try {
		claim = await materializeAndClaim(deps.db, {
			rows: unique.flatMap((w) => (w.job.kind === "accepted" ? [messageRow(w.job, w.message)] : [])),
			recipients: unique.flatMap((w) => recipientRows(w.job.id, w.message)),
			ids: unique.map((w) => w.job.id),
			contentIds: unique.filter((w) => !w.message).map((w) => w.job.id),
			workspaceIds: [...new Set(unique.map((w) => w.job.workspaceId))],
			token,
			leaseUntil: now + LEASE_MS,
			holdUntil: now + SUSPENDED_HOLD_SECONDS * 1000,
			now,
		});
	} catch (error) {
		console.error("send consumer: materialize failed, retrying batch", { error: errorSummary(error) });
		for (const w of work) w.queued.retry({ delaySeconds: STORAGE_RETRY_DELAY_SECONDS });
		return;
	}
	count("messages_materialized_total", unique.filter((w) => w.job.kind === "accepted").length);
	await publishEvents(claim.events, deps.events);

	const claimed = new Map(claim.claimed.map((c) => [c.id, c]));
	const later: Later[] = [];
	const mine: { w: Work; row: ClaimedRow }[] = [];
	for (const w of unique) {
		const row = claimed.get(w.job.id);
		if (row) {
			mine.push({ w, row });
			continue;
		}
		const state = claim.states.get(w.job.id);
		if (claim.held.has(w.job.id)) {
			// Its workspace is suspended: kept for later, neither sent nor dropped.
			later.push(redrive(w, "suspended", SUSPENDED_HOLD_SECONDS));
		} else if (state?.status === "processing" && state.lease_expires_at !== null) {
			// Another consumer holds it. If that one dies, this copy picks the message up once the lease ends.
			later.push(redrive(w, "lease_held", secondsUntil(state.lease_expires_at, now) + 1));
		} else if (state?.next_attempt_at === PAUSED_UNTIL) {
			// Issue 9: its queue is paused. The row waits in D1; resume re-enqueues it.
			w.queued.ack();
		} else if (state?.status === "deferred" && state.next_attempt_at !== null) {
			later.push(redrive(w, "not_due", secondsUntil(state.next_attempt_at, now)));
		} else {
			// Final, scheduled, or gone with its workspace: nothing to do for this copy.
			if (!state) console.warn("send consumer: no row for message", { id: w.job.id });
			w.queued.ack();
		}
	}

	// Issue 9 (delivery/limits.ts): one WorkspaceLimiter call per workspace of the batch, before any delivery.
	const limits = await reserveForBatch(
		deps.limiter,
		mine.map(({ w, row }) => limitItem(row, w.message, claim.content, claim.queues.get(row.queue_id ?? "")?.priority)),
		Date.now(),
		{
			global: mine.length > 0 && deps.limiter !== undefined && (await platformLimitsActive(deps.db)),
			throttles: throttlesOf(claim),
		},
	);
	const plan = new GatewayPlan(claim, deps.gateways);
	const prepared = await Promise.all(
		mine.map(({ w, row }) => prepare(w, row, claim, plan, deps, limits.instead(w.job.id))),
	);
	const dispatched = await dispatch(
		prepared.flatMap((p) => (p.job ? [p.job] : [])),
		{
			driver: (id) => plan.driver(id),
			breakers: deps.breakers?.(plan) ?? NO_BREAKERS,
			subEnvelope,
			timeoutMs: deps.gateways.timeoutMs,
			now: Date.now,
		},
	);
	const now2 = Date.now();
	const attempts = prepared.map((p) => {
		const sent = dispatched.get(p.w.job.id);
		const result: AttemptResult = p.early ?? {
			kind: "delivered",
			recipients: sent?.recipients ?? [],
			held: sent?.held ?? [],
			mimeKey: sent?.mimeKey ?? null,
		};
		return classifyAttempt({
			id: p.w.job.id,
			workspaceId: p.w.job.workspaceId,
			token,
			attempts: p.row.attempts,
			acceptedAt: p.row.created_at,
			recipients: p.recipients,
			tried: p.pending,
			result,
			now: now2,
			policy: retryPolicyOf(p.row.queue_id ? claim.queues.get(p.row.queue_id) : undefined),
		});
	});
	let recorded: Awaited<ReturnType<typeof recordOutcomes>>;
	try {
		recorded = await recordOutcomes(
			deps.db,
			attempts.map((a) => a.outcome),
			attempts.flatMap((a) => a.events),
			Date.now(),
		);
	} catch (error) {
		// The attempts happened but were not recorded; the lease runs out and the message is tried again
		// (at-least-once, with the provider keys stable per recipient).
		console.error("send consumer: recording outcomes failed", { error: errorSummary(error), size: mine.length });
		for (const { w } of mine) w.queued.retry({ delaySeconds: STORAGE_RETRY_DELAY_SECONDS });
		await settleLater(later, deps);
		for (const c of copies) c.queued.ack();
		return;
	}
	await publishEvents(recorded.events, deps.events);
	// Issue 9: units of messages that were granted but not sent go back to their limits.
	await limits.release(attempts.filter((a) => a.outcome.status !== "sent").map((a) => a.outcome.id));

	mine.forEach(({ w, row }, i) => {
		const a = attempts[i];
		if (!a || !recorded.applied.has(w.job.id)) {
			// The lease ran out and someone else claimed the row: that holder's outcome stands.
			console.warn("send consumer: lease lost before recording", { id: w.job.id });
			w.queued.ack();
			return;
		}
		countOutcome(a);
		if (a.retryInSeconds === null) w.queued.ack();
		else if (a.retryInSeconds <= MAX_QUEUE_DELAY_SECONDS)
			// The queue's priority now (it may have changed since the job was made) picks the band.
			later.push(redrive(w, "deferred", a.retryInSeconds, claim.queues.get(row.queue_id ?? "")?.priority));
		// Further out than a queue delay reaches: the row waits in D1 with its next_attempt_at for the cron.
		else w.queued.ack();
	});
	await settleLater(later, deps);
	count("send_duplicates_skipped_total", copies.length);
	for (const c of copies) c.queued.ack();
}

/** Issue 11: the reputation throttle of each throttled workspace, read from the rows the claim loaded. */
function throttlesOf(claim: ClaimResult): Map<string, number> {
	const throttles = new Map<string, number>();
	for (const ws of claim.workspaces) {
		const limit = throttleOf(ws.reputation_state, settingsJson(ws.settings).reputation);
		if (limit !== null) throttles.set(ws.id, limit);
	}
	return throttles;
}

function settingsJson(json: string): Record<string, unknown> {
	try {
		return (JSON.parse(json) as Record<string, unknown> | null) ?? {};
	} catch {
		return {};
	}
}

/** A named queue's retry schedule (its delays, then its last delay; its retry count), else the defaults. */
function retryPolicyOf(queue: QueueRow | undefined): RetryPolicy {
	if (!queue) return DEFAULT_RETRY_POLICY;
	const delays = JSON.parse(queue.retry_delays) as unknown;
	const valid = Array.isArray(delays) && delays.length > 0 && delays.every((d) => Number.isInteger(d) && d >= 0);
	return {
		maxRetries: queue.max_retries,
		delaysSeconds: valid ? (delays as number[]) : DEFAULT_RETRY_POLICY.delaysSeconds,
	};
}

function countOutcome(a: AttemptOutcome): void {
	const status = a.outcome.status;
	if (status === "sent") count("messages_sent_total");
	else if (status === "deferred") count("messages_deferred_total");
	else if (status === "rejected") count("messages_rejected_total");
	else if (status === "suppressed") count("recipients_suppressed_total");
	else count("messages_failed_total");
}

function secondsUntil(at: number, now: number): number {
	return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.ceil((at - now) / 1000)));
}

/** The next attempt of `w`, in the band of its queue's priority (known, or carried by its job). */
function redrive(w: Work, reason: RedriveJob["reason"], delaySeconds: number, priority = w.job.priority): Later {
	const job: RedriveJob = { v: 1, kind: "redrive", id: w.job.id, workspaceId: w.job.workspaceId, reason };
	return { queued: w.queued, job: withPriority(job, priority), delaySeconds };
}

/** Puts the next attempts on the queue, then acks what they replace; a refused send retries the original. */
async function settleLater(later: readonly Later[], deps: SendConsumerDeps): Promise<void> {
	if (later.length === 0) return;
	const durable = await sendAll(
		deps.sendQueue,
		later.map((l) => l.job),
		(i) => later[i]?.delaySeconds ?? 0,
	);
	later.forEach((l, i) => {
		if (durable[i]) l.queued.ack();
		else l.queued.retry({ delaySeconds: Math.max(l.delaySeconds, STORAGE_RETRY_DELAY_SECONDS) });
	});
	count("messages_requeued_total", durable.filter(Boolean).length);
}

type Prepared = {
	w: Work;
	row: ClaimedRow;
	recipients: RecipientState[];
	pending: string[];
	/** Set when the attempt is decided before any gateway (no content, no gateway, a render error). */
	early?: AttemptResult;
	job?: DispatchJob;
};

async function prepare(
	w: Work,
	row: ClaimedRow,
	claim: ClaimResult,
	plan: GatewayPlan,
	deps: SendConsumerDeps,
	/** Issue 9: a rate limit's hold or refusal, which replaces the delivery. */
	instead: AttemptResult | null,
): Promise<Prepared> {
	const recipients = claim.recipients.filter((r) => r.message_id === w.job.id);
	const pending = [...new Set(recipients.filter((r) => !FINAL.has(r.status)).map((r) => r.email))];
	const base = { w, row, recipients, pending };
	// Every recipient left was suppressed at the claim: nothing to send, the outcome records `suppressed`.
	if (pending.length === 0) return { ...base, early: { kind: "delivered", recipients: [], held: [], mimeKey: null } };
	if (instead) return { ...base, early: instead };
	const content = claim.content.find((c) => c.id === w.job.id);
	const message = w.message ?? (content ? await messageFromRows(content, recipients, deps.gateways.bodies) : null);
	if (!message) {
		return {
			...base,
			early: { kind: "failed", gatewayId: null, failure: "final", reason: "the message content is missing" },
		};
	}
	// In the message's own order (to, cc, bcc), as a server receives RCPT commands.
	const open = new Set(pending);
	base.pending = [...new Set([...message.to, ...message.cc, ...message.bcc].map((m) => m.email))].filter((e) =>
		open.has(e),
	);
	const sandbox = w.job.kind === "accepted" ? w.job.sandbox : content?.sandbox === 1;
	if (!sandbox && !plan.hasGateways(w.job.workspaceId)) {
		const reason = "no enabled gateway is configured for this workspace";
		return { ...base, early: { kind: "failed", gatewayId: null, failure: "final", reason } };
	}
	const rendered = await render({
		id: w.job.id,
		workspaceId: w.job.workspaceId,
		message,
		recipients: base.pending,
		attempt: row.attempts + 1,
		verp: deps.verp,
	});
	if (!rendered.ok)
		return { ...base, early: { kind: "failed", gatewayId: null, failure: "permanent", reason: rendered.error } };
	const candidates = new Map<string, readonly string[]>();
	for (const email of base.pending) {
		candidates.set(
			email,
			sandbox
				? [plan.sandboxId(w.job.workspaceId)]
				: plan.candidates(
						w.job.workspaceId,
						{ fromEmail: message.from.email, recipient: email, tags: message.tags, headers: message.headers },
						row.queue_id,
					),
		);
	}
	return {
		...base,
		job: { id: w.job.id, message: rendered.value.message, envelope: rendered.value.envelope, candidates },
	};
}

async function subEnvelope(job: DispatchJob, emails: string[]): Promise<Envelope> {
	if (emails.length === job.envelope.recipients.length) return job.envelope;
	const wanted = new Set(emails);
	return {
		...job.envelope,
		recipients: job.envelope.recipients.filter((r) => wanted.has(r.email)),
		idempotencyKey: await deliveryKey(job.id, emails),
	};
}

async function readJob(queued: Message<unknown>, deps: SendConsumerDeps): Promise<Work | null> {
	const parsed = queueJobSchema.safeParse(queued.body);
	if (!parsed.success) return deadLetter(queued, "the queue message is not a send job", deps);
	const job = parsed.data;
	if (job.kind === "redrive") return { queued, job, message: null };
	if (job.message) return { queued, job, message: job.message };
	const message = job.contentKey ? await readStoredContent(deps.gateways.bodies, job.contentKey) : null;
	if (!message) return deadLetter(queued, "the message content is missing from storage or unreadable", deps);
	return { queued, job, message };
}

async function deadLetter(queued: Message<unknown>, reason: string, deps: SendConsumerDeps): Promise<null> {
	console.error("send consumer: dead-lettering", { queueMessageId: queued.id, reason });
	const letter: DeadLetter = { deadLettered: { reason, body: queued.body } };
	try {
		await deps.deadLetter.send(letter, { contentType: "json" });
		queued.ack();
	} catch {
		queued.retry({ delaySeconds: STORAGE_RETRY_DELAY_SECONDS });
	}
	return null;
}
