// receiveInbound: one received message (Email Worker `email()` or the SMTP bridge's MX mode), the
// same path for both (docs/inbound.md). Every accepted message is stored first (raw in R2, parsed
// fields in D1); then a bounce or complaint becomes Feedback for recordFeedback and routed mail is
// queued for its route's webhook. Nothing that can fail slowly (a customer endpoint) runs here.
import { createDb } from "../../db/client";
import type { EventRow } from "../../db/repositories/events";
import { findInboundMessage, findMessageRef, insertInboundMessage } from "../../db/repositories/inbound";
import type { inboundMessages } from "../../db/schema";
import { err, ok, type Result } from "../../errors";
import { base32 } from "../../lib/encoding";
import { errorSummary } from "../../lib/log";
import { type EventQueues, publishEvents } from "../events/emitter";
import type { Feedback, FeedbackSource } from "../feedback/model";
import type { Classification } from "./model";
import { MAX_STORED_TEXT, parseInbound } from "./parse";
import { type InboundTarget, isRefusal, type Refusal, resolveRecipient, UNKNOWN_RECIPIENT } from "./targets";
import { feedbackFromReport } from "./to-feedback";
import type { VerpConfig } from "./verp";
import { type InboundWebhookJob, queueInboundWebhook } from "./webhook-job";

export type InboundDeps = {
	db: D1Database;
	bodies: R2Bucket;
	queues: EventQueues;
	verp: VerpConfig;
	classify: (raw: Uint8Array) => Promise<Classification>;
	recordFeedback: (items: readonly Feedback[]) => Promise<unknown>;
	source: Extract<FeedbackSource, "email" | "mx">;
	now: () => number;
};

export type InboundInput = {
	mailFrom: string;
	rcptTo: readonly string[];
	raw: Uint8Array;
	clientIp?: string | undefined;
};

export type InboundFailure = { kind: "refused"; refusal: Refusal } | { kind: "unavailable"; message: string };

/** `ids`: one stored inbound message per accepted recipient, in envelope order. */
export type Received = { ids: string[] };

const NO_MESSAGE: Refusal = { code: 550, enhanced: "5.6.0", message: "The report names no message of this relay" };

/** The RCPT check of the bridge's MX mode: the same decision receiveInbound makes per recipient. */
export async function checkInboundRecipient(
	deps: Pick<InboundDeps, "db" | "verp">,
	rcpt: string,
): Promise<{ accept: true } | { accept: false; refusal: Refusal }> {
	const target = await resolveRecipient({ db: createDb(deps.db), verp: deps.verp }, rcpt);
	return isRefusal(target) ? { accept: false, refusal: target } : { accept: true };
}

export async function receiveInbound(
	deps: InboundDeps,
	input: InboundInput,
): Promise<Result<Received, InboundFailure>> {
	const db = createDb(deps.db);
	const targets: InboundTarget[] = [];
	let refusal: Refusal = UNKNOWN_RECIPIENT;
	for (const rcpt of input.rcptTo) {
		const target = await resolveRecipient({ db, verp: deps.verp }, rcpt);
		if (isRefusal(target)) refusal = target;
		else targets.push(target);
	}
	if (targets.length === 0) return err({ kind: "refused", refusal });

	const once = memo(input.raw, deps.classify);
	const ids: string[] = [];
	try {
		for (const target of targets) {
			const stored = await receiveFor(deps, input, target, once);
			if (typeof stored === "string") ids.push(stored);
			else refusal = stored;
		}
	} catch (error) {
		console.error("inbound: storing or recording failed", { error: errorSummary(error), source: deps.source });
		return err({ kind: "unavailable", message: "Inbound storage is unavailable; try again later" });
	}
	return ids.length > 0 ? ok({ ids }) : err({ kind: "refused", refusal });
}

type Once = { classification: () => Promise<Classification> };

function memo(raw: Uint8Array, classify: InboundDeps["classify"]): Once {
	let pending: Promise<Classification> | null = null;
	return {
		classification: () => {
			pending ??= classify(raw).catch((error: unknown) => {
				// The classifier is pure; a message it cannot read is kept as `other`, never lost.
				console.warn("inbound: classify failed", { error: errorSummary(error) });
				return { kind: "other", recipients: [] };
			});
			return pending;
		},
	};
}

/** Deterministic from the bytes and the recipient, so a redelivered message is the same row. */
export async function inboundIdOf(raw: Uint8Array, rcpt: string): Promise<string> {
	const suffix = new TextEncoder().encode(`\n${rcpt.toLowerCase()}`);
	const joined = new Uint8Array(raw.byteLength + suffix.byteLength);
	joined.set(raw);
	joined.set(suffix, raw.byteLength);
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
	return `inb_${base32(digest).slice(0, 26).toLowerCase()}`;
}

/** The message a report at the feedback address is about, from the headers it quotes. */
function reportedMessageId(c: Classification): string | null {
	const candidates = [c.originalQueueId, c.originalMessageId?.replace(/^<|>$/g, "").split("@")[0]];
	for (const candidate of candidates) {
		const id = candidate?.trim().toUpperCase();
		if (id && /^[0-9A-HJKMNP-TV-Z]{34}$/.test(id)) return id;
	}
	return null;
}

async function receiveFor(
	deps: InboundDeps,
	input: InboundInput,
	target: InboundTarget,
	once: Once,
): Promise<string | Refusal> {
	const db = createDb(deps.db);
	let report: {
		classification: Classification;
		messageId: string;
		recipients: string[];
		tokenRecipient: string | null;
	} | null = null;
	let workspaceId: string;
	if (target.kind === "route") workspaceId = target.route.workspaceId;
	else {
		const classification = await once.classification();
		const message =
			target.kind === "bounce" ? target.message : await findMessageRefOf(deps, reportedMessageId(classification));
		if (!message) return NO_MESSAGE;
		workspaceId = message.workspaceId;
		report = {
			classification,
			messageId: message.id,
			recipients: message.recipients,
			tokenRecipient: target.kind === "bounce" ? target.recipient : null,
		};
	}

	const id = await inboundIdOf(input.raw, target.address);
	const rawKey = `inbound/${workspaceId}/${id}.eml`;
	const now = deps.now();
	await deps.bodies.put(rawKey, input.raw, { httpMetadata: { contentType: "message/rfc822" } });
	const parsed = await parseInbound(input.raw);
	const kind = target.kind === "route" ? "routed" : (report?.classification.kind ?? "other");
	const webhook = target.kind === "route" && target.route.webhookUrl !== null;
	const row: typeof inboundMessages.$inferInsert = {
		id,
		workspaceId,
		routeId: target.kind === "route" ? target.route.id : null,
		messageId: report?.messageId ?? null,
		kind,
		mailFrom: input.mailFrom,
		rcptTo: target.address,
		clientIp: input.clientIp ?? null,
		fromEmail: parsed.from?.email ?? null,
		fromName: parsed.from?.name ?? null,
		toList: parsed.to,
		subject: parsed.subject,
		text: parsed.text === null ? null : parsed.text.slice(0, MAX_STORED_TEXT),
		htmlSize: parsed.html === null ? 0 : new TextEncoder().encode(parsed.html).byteLength,
		attachments: parsed.attachments,
		headers: parsed.headers,
		rawKey,
		rawSize: input.raw.byteLength,
		webhookStatus: webhook ? "pending" : "none",
		createdAt: now,
	};
	// Reports become their own events through recordFeedback; everything else is announced here.
	const event: EventRow | null =
		kind === "bounce" || kind === "complaint"
			? null
			: {
					id: `${id}:inbound_received`,
					workspace_id: workspaceId,
					message_id: row.messageId ?? null,
					recipient: null,
					type: "inbound_received",
					data: JSON.stringify({ inbound_id: id, kind, route_id: row.routeId ?? null }),
					created_at: now,
				};
	const isNew = await insertInboundMessage(db, row, event && eventRecord(event));
	if (isNew && event) await publishEvents([event], deps.queues);

	if (report) {
		const items = feedbackFromReport(report.classification, {
			workspaceId,
			messageId: report.messageId,
			messageRecipients: report.recipients,
			tokenRecipient: report.tokenRecipient,
			source: deps.source,
			inboundId: id,
			at: now,
		});
		// Also on a redelivery: recordFeedback drops what it has already recorded (sourceEventId).
		if (items.length > 0) await deps.recordFeedback(items);
	}
	if (webhook && (isNew || (await stillUnsent(deps, id)))) {
		const job: InboundWebhookJob = { v: 1, kind: "inbound_webhook", inboundId: id, workspaceId };
		await queueInboundWebhook(deps.queues.webhooks, job);
	}
	return id;
}

async function findMessageRefOf(deps: InboundDeps, id: string | null) {
	return id ? findMessageRef(createDb(deps.db), id) : null;
}

/** A redelivered message whose webhook never went out (its first enqueue failed) is queued again. */
async function stillUnsent(deps: InboundDeps, id: string): Promise<boolean> {
	const row = await findInboundMessage(createDb(deps.db), id);
	return row?.webhookStatus === "pending" && row.webhookAttempts === 0;
}

function eventRecord(e: EventRow) {
	return {
		id: e.id,
		workspaceId: e.workspace_id,
		messageId: e.message_id,
		recipient: e.recipient,
		type: "inbound_received" as const,
		data: JSON.parse(e.data) as Record<string, unknown>,
		createdAt: e.created_at,
	};
}
