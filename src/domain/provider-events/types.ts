// What every provider's webhook module produces: events about one recipient each, in the feedback
// vocabulary (src/domain/feedback/model.ts), before they are tied to a workspace's message.
import type { Feedback } from "../feedback/model";

/**
 * One provider event about one recipient. `messageId` is our id when the provider echoed the
 * metadata the driver sent (Mailgun `v:mq-message-id`, SendGrid `custom_args`, SES tags, Postmark
 * `Metadata`, Resend tags); otherwise `providerMessageId` is looked up in message_recipients.
 */
export type ProviderEvent = Omit<Feedback, "workspaceId" | "messageId" | "source"> & {
	messageId: string | null;
	providerMessageId: string | null;
	/** Required here: what makes a replayed webhook record nothing new. */
	sourceEventId: string;
};

/** The metadata key every driver sends our message id under. */
export const OUR_ID_KEY = "mq_message_id";
/** Mailgun's `v:` variable name for it (src/providers/mailgun.ts). */
export const MAILGUN_ID_KEY = "mq-message-id";

/** How far a signed timestamp may be from now before a webhook is refused as stale (or replayed). */
export const WEBHOOK_TOLERANCE_MS = 5 * 60 * 1000;

export const isRecord = (value: unknown): value is Record<string, unknown> =>
	typeof value === "object" && value !== null && !Array.isArray(value);

export const str = (value: unknown): string | undefined =>
	typeof value === "string" && value.length > 0 ? value : undefined;

/** Milliseconds from an ISO date, or `fallback` when it does not parse. */
export function msOf(value: unknown, fallback: number): number {
	if (typeof value === "number" && Number.isFinite(value)) return value;
	if (typeof value !== "string") return fallback;
	const parsed = Date.parse(value);
	return Number.isNaN(parsed) ? fallback : parsed;
}

/** A provider message id as stored by the drivers and as webhooks carry it, without angle brackets. */
export const bareId = (id: string): string => id.replace(/^<|>$/g, "");
