// One provider event webhook, end to end: the gateway the URL names, its webhook secret, the
// provider's own verification, conversion into feedback, our message ids (echoed metadata, else a
// batched provider-id lookup) and `record`, the feedback path. Nothing is recorded unless verified.
import type { Db } from "../../db/client";
import type { GatewayRecord } from "../../db/repositories/gateways";
import {
	claimWebhookToken,
	findGatewayById,
	messageIdsByProviderIds,
	releaseWebhookToken,
} from "../../db/repositories/provider-events";
import { ApiError, err, ok, type Result } from "../../errors";
import { errorSummary } from "../../lib/log";
import type { Feedback } from "../feedback/model";
import { openCredentials } from "../gateways";
import { mailgunEvents, verifyMailgun } from "./mailgun";
import { postmarkAuthorized, postmarkEvents } from "./postmark";
import { resendEvents, verifySvix } from "./resend";
import { sendgridEvents, verifySendgrid } from "./sendgrid";
import { sesEvents } from "./ses";
import { confirmSubscription, verifySns } from "./sns";
import { isRecord, type ProviderEvent, str, WEBHOOK_TOLERANCE_MS } from "./types";

export const WEBHOOK_PROVIDERS = ["mailgun", "sendgrid", "ses", "postmark", "resend"] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

export type ReceiveDeps = {
	db: Db;
	/** ENCRYPTION_KEY, to open the gateway's sealed credentials. */
	encryptionKey: string;
	/** Outbound fetch (SNS certificates and subscription confirmations). */
	fetch: typeof fetch;
	/** The feedback path (recordFeedback): one outcome per item, `recorded: false` for a replay. */
	record: (items: readonly Feedback[]) => Promise<readonly { recorded: boolean }[]>;
	now?: number | undefined;
};

export type WebhookInput = { type: string; gatewayId: string; headers: Headers; body: string };

export type WebhookOutcome = { received: number; recorded: number; subscription_confirmed?: boolean };

type Verified = { events: ProviderEvent[]; token?: string; confirmed?: boolean };

const unauthorized = (message: string) => new ApiError("unauthorized", message);
const missingSecret = (field: string) =>
	unauthorized(`This gateway has no ${field} configured; set it in the gateway's credentials to receive its webhooks.`);

async function verify(
	type: WebhookProvider,
	credentials: Record<string, unknown>,
	input: WebhookInput,
	deps: ReceiveDeps,
	now: number,
): Promise<Result<Verified>> {
	switch (type) {
		case "mailgun": {
			const key = str(credentials.webhook_signing_key);
			if (!key) return err(missingSecret("webhook_signing_key"));
			const verified = await verifyMailgun(input.body, key, now);
			if (!verified.ok) return verified;
			return ok({ events: mailgunEvents(verified.value.payload, now), token: verified.value.token });
		}
		case "sendgrid": {
			const key = str(credentials.webhook_public_key);
			if (!key) return err(missingSecret("webhook_public_key"));
			const verified = await verifySendgrid(input.headers, input.body, key, now);
			return verified.ok ? ok({ events: sendgridEvents(verified.value, now) }) : verified;
		}
		case "resend": {
			const secret = str(credentials.webhook_secret);
			if (!secret) return err(missingSecret("webhook_secret"));
			const verified = await verifySvix(input.headers, input.body, secret, now);
			return verified.ok ? ok({ events: resendEvents(verified.value, now) }) : verified;
		}
		case "postmark": {
			const username = str(credentials.webhook_username);
			const password = str(credentials.webhook_password);
			if (!username || !password) return err(missingSecret("webhook_username and webhook_password"));
			if (!postmarkAuthorized(input.headers.get("authorization") ?? undefined, username, password)) {
				return err(unauthorized("The basic auth credentials are not this gateway's webhook credentials."));
			}
			let record: unknown;
			try {
				record = JSON.parse(input.body);
			} catch {
				return err(new ApiError("invalid_json", "The Postmark body is not JSON."));
			}
			if (!isRecord(record)) return err(new ApiError("validation_error", "The Postmark body is not a record."));
			return ok({ events: postmarkEvents(record, now) });
		}
		case "ses": {
			const verified = await verifySns(input.body, deps, str(credentials.sns_topic_arn));
			if (!verified.ok) return verified;
			const message = verified.value;
			if (message.Type === "SubscriptionConfirmation") {
				const confirmed = await confirmSubscription(message, deps);
				return confirmed.ok ? ok({ events: [], confirmed: true }) : confirmed;
			}
			if (message.Type === "UnsubscribeConfirmation") return ok({ events: [] });
			return ok({ events: sesEvents(message.MessageId, message.Message, now) });
		}
	}
}

/** Feedback for the gateway's workspace, our message id filled in from provider ids where missing. */
async function feedbackOf(
	db: Db,
	gateway: GatewayRecord,
	source: WebhookProvider,
	events: ProviderEvent[],
): Promise<Feedback[]> {
	const lookup = events.filter((e) => e.messageId === null && e.providerMessageId !== null);
	const found = await messageIdsByProviderIds(
		db,
		gateway.workspaceId,
		lookup.map((e) => e.providerMessageId ?? ""),
	);
	return events.map(({ providerMessageId, messageId, ...event }) => ({
		...event,
		workspaceId: gateway.workspaceId,
		messageId: messageId ?? (providerMessageId ? (found.get(providerMessageId) ?? null) : null),
		source,
	}));
}

function isProvider(type: string): type is WebhookProvider {
	return (WEBHOOK_PROVIDERS as readonly string[]).includes(type);
}

export async function receiveProviderWebhook(deps: ReceiveDeps, input: WebhookInput): Promise<Result<WebhookOutcome>> {
	const now = deps.now ?? Date.now();
	const type = input.type;
	if (!isProvider(type)) return err(new ApiError("not_found", `No provider webhooks for type "${type}".`));
	const gateway = await findGatewayById(deps.db, input.gatewayId);
	if (!gateway || gateway.type !== type) {
		return err(new ApiError("not_found", `No ${type} gateway with this id.`));
	}
	const credentials = await openCredentials(deps.encryptionKey, gateway);
	if (credentials === null) {
		return err(new ApiError("service_unavailable", "The gateway's credentials cannot be opened."));
	}
	const verified = await verify(type, credentials, input, deps, now);
	if (!verified.ok) return verified;
	const { events, token, confirmed } = verified.value;
	// A signature token is good once: the second request with it is a replay, refused before it is read.
	if (
		token !== undefined &&
		!(await claimWebhookToken(deps.db, gateway.workspaceId, gateway.id, token, now + 2 * WEBHOOK_TOLERANCE_MS, now))
	) {
		return err(unauthorized("This webhook signature token was already used."));
	}
	try {
		const resolved = await feedbackOf(deps.db, gateway, type, events);
		// Any AWS account's topic can sign for SNS: without a pinned topic, only events about this
		// workspace's own messages are taken (never, say, a suppression of an arbitrary address).
		const pinned = type !== "ses" || str(credentials.sns_topic_arn) !== undefined;
		const items = pinned ? resolved : resolved.filter((item) => item.messageId !== null);
		const outcomes = items.length > 0 ? await deps.record(items) : [];
		return ok({
			received: events.length,
			recorded: outcomes.filter((o) => o.recorded).length,
			...(confirmed ? { subscription_confirmed: true } : {}),
		});
	} catch (error) {
		// The provider retries a non-2xx; its retry must not meet its own token as a replay.
		console.error(
			JSON.stringify({ msg: "provider webhook not recorded", gateway: gateway.id, error: errorSummary(error) }),
		);
		if (token !== undefined) await releaseWebhookToken(deps.db, gateway.id, token);
		return err(new ApiError("service_unavailable", "The events could not be recorded; the provider will retry."));
	}
}
