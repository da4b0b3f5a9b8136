// Posting stored inbound mail to its route's webhook, from the `mq-webhooks` queue consumer: parsed
// JSON with expiring attachment links, signed Standard Webhooks style with the route's secret
// (DESIGN.md "Outbound webhooks"), a timeout, no redirects, retried with backoff, then `failed`.
import { createDb } from "../../db/client";
import {
	findInboundMessage,
	findInboundRoute,
	type InboundMessageRecord,
	markInboundWebhook,
} from "../../db/repositories/inbound";
import { decryptSecret } from "../../lib/crypto";
import { errorSummary } from "../../lib/log";
import { iso } from "../../lib/time";
import { ATTACHMENT_LINK_TTL_MS, attachmentToken } from "./attachment-links";
import { parseRawMime } from "./parse";
import { inboundWebhookJobSchema } from "./webhook-job";
import { signWebhook } from "./webhook-signature";

/** Longest one webhook call may take; a timeout is retried like a 5xx. */
export const INBOUND_WEBHOOK_TIMEOUT_MS = 10_000;
/** Delays between attempts, in seconds; past the last the delivery is `failed`. */
export const INBOUND_WEBHOOK_BACKOFF = [10, 60, 300, 1800, 3600] as const;

export type WebhookDeliveryDeps = {
	db: D1Database;
	bodies: R2Bucket;
	signingKey: string;
	encryptionKey: string;
	publicUrl: string;
	fetch: typeof fetch;
	now: () => number;
};

export async function deliverInboundWebhooks(
	messages: readonly Message<unknown>[],
	deps: WebhookDeliveryDeps,
): Promise<void> {
	await Promise.all(messages.map((m) => deliverOne(m, deps)));
}

async function deliverOne(queued: Message<unknown>, deps: WebhookDeliveryDeps): Promise<void> {
	const parsed = inboundWebhookJobSchema.safeParse(queued.body);
	if (!parsed.success) {
		console.error("inbound webhook: invalid job", { queueMessageId: queued.id });
		queued.ack();
		return;
	}
	const db = createDb(deps.db);
	try {
		const row = await findInboundMessage(db, parsed.data.inboundId);
		if (!row || row.workspaceId !== parsed.data.workspaceId || row.webhookStatus !== "pending" || !row.routeId) {
			// Gone with its workspace, already delivered, or never meant for a webhook.
			queued.ack();
			return;
		}
		const route = await findInboundRoute(db, row.workspaceId, row.routeId);
		if (!route?.webhookUrl || !route.enabled) {
			await markInboundWebhook(db, row.id, { status: "failed", responseCode: null });
			queued.ack();
			return;
		}
		const body = JSON.stringify(await payloadOf(row, deps));
		const secret = await decryptSecret(deps.encryptionKey, route.secretEnc);
		const headers = await signWebhook(secret, row.id, Math.floor(deps.now() / 1000), body);
		const status = await post(deps, route.webhookUrl, headers, body);
		if (status !== null && status >= 200 && status < 300) {
			await markInboundWebhook(db, row.id, { status: "delivered", responseCode: status });
			queued.ack();
			return;
		}
		const delay = INBOUND_WEBHOOK_BACKOFF[queued.attempts - 1];
		if (delay === undefined) {
			await markInboundWebhook(db, row.id, { status: "failed", responseCode: status });
			console.warn("inbound webhook: giving up", { inboundId: row.id, routeId: route.id, status });
			queued.ack();
			return;
		}
		await markInboundWebhook(db, row.id, { status: "pending", responseCode: status });
		queued.retry({ delaySeconds: delay });
	} catch (error) {
		console.error("inbound webhook: delivery failed", { inboundId: parsed.data.inboundId, error: errorSummary(error) });
		queued.retry({ delaySeconds: INBOUND_WEBHOOK_BACKOFF[0] });
	}
}

/** The endpoint's status, or null for a timeout or network failure. */
async function post(deps: WebhookDeliveryDeps, url: string, headers: Record<string, string>, body: string) {
	try {
		const res = await deps.fetch(url, {
			method: "POST",
			headers: { ...headers, "content-type": "application/json", "user-agent": "mail-queue-inbound/1" },
			body,
			redirect: "manual",
			signal: AbortSignal.timeout(INBOUND_WEBHOOK_TIMEOUT_MS),
		});
		await res.body?.cancel();
		return res.status;
	} catch {
		return null;
	}
}

export type InboundPayload = Awaited<ReturnType<typeof payloadOf>>;

async function payloadOf(row: InboundMessageRecord, deps: WebhookDeliveryDeps) {
	const object = await deps.bodies.get(row.rawKey);
	if (!object) throw new Error("inbound raw message missing from R2");
	const email = await parseRawMime(new Uint8Array(await object.arrayBuffer()));
	const expiresAt = deps.now() + ATTACHMENT_LINK_TTL_MS;
	const base = deps.publicUrl.replace(/\/+$/, "");
	const attachments = await Promise.all(
		row.attachments.map(async (a, index) => ({
			...a,
			url: `${base}/v1/inbound/attachments/${await attachmentToken(deps.signingKey, { inboundId: row.id, index }, expiresAt)}`,
			expires_at: iso(expiresAt),
		})),
	);
	return {
		type: "inbound.received",
		id: row.id,
		route_id: row.routeId,
		created_at: iso(row.createdAt),
		envelope: { mail_from: row.mailFrom, rcpt_to: row.rcptTo },
		from: row.fromEmail ? { email: row.fromEmail, name: row.fromName } : null,
		to: row.toList,
		subject: row.subject,
		text: email.text ?? null,
		html: email.html ?? null,
		headers: row.headers,
		attachments,
		raw_size: row.rawSize,
	};
}
