// The contract every delivery gateway implements (DESIGN.md "Send consumer"): a driver receives the
// message the render stage produced plus its SMTP envelope, and answers one classified result per
// envelope recipient (accepted / temporary / permanent / auth). Drivers never render.
import type { GatewayType } from "../db/schema";

export type Mailbox = { email: string; name?: string | undefined };

export type RenderedAttachment = {
	filename: string;
	contentType: string;
	/** Base64 of the bytes, as the API takes it and most provider APIs want it. */
	content: string;
	/** Set for an inline part referenced from the HTML as `cid:<contentId>`. */
	contentId?: string | undefined;
};

/**
 * The message after the render stage (personalization → tracking → List-Unsubscribe/VERP → header
 * rewrite → DKIM → MIME). API providers read the mapped fields; raw-MIME providers send `raw`. Both
 * describe the same message.
 */
export type RenderedMessage = {
	/** The relay's message id. */
	id: string;
	workspaceId: string;
	from: Mailbox;
	/** Header recipients; Bcc never appears in headers, only in the envelope. */
	to: Mailbox[];
	cc: Mailbox[];
	replyTo: Mailbox[];
	subject: string;
	html?: string | undefined;
	text?: string | undefined;
	attachments: RenderedAttachment[];
	/** The Message-ID header value, with its angle brackets. */
	messageIdHeader: string;
	/** Every header besides From/To/Cc/Subject/Date/Message-ID/MIME/Content-*, in order. */
	headers: [name: string, value: string][];
	tags: string[];
	metadata: Record<string, string>;
	/** The complete RFC 5322 message (CRLF line ends), as signed. */
	raw: string;
};

export type EnvelopeRecipient = {
	email: string;
	/**
	 * Stable for this message and recipient across attempts and redeliveries, so a provider that
	 * dedupes on a key (Resend's Idempotency-Key, SES, …) never sends one recipient twice.
	 */
	idempotencyKey: string;
};

export type Envelope = {
	/** MAIL FROM / Return-Path. */
	from: string;
	/** The recipients this attempt must reach; recipients already sent or refused are not here. */
	recipients: EnvelopeRecipient[];
	/** Stable for this message and recipient set, for providers that take one key per call. */
	idempotencyKey: string;
	/** 1 for the first delivery attempt. */
	attempt: number;
};

export type DeliveryFailureKind = "temporary" | "permanent" | "auth";

export type RecipientResult =
	| { email: string; status: "accepted"; providerMessageId: string | null; response?: string | undefined }
	| {
			email: string;
			status: DeliveryFailureKind;
			/** What the provider said (an SMTP reply, an API error), safe to show: never a credential. */
			response: string;
			/** A delay the provider asked for (429 Retry-After, SMTP 421), in seconds. */
			retryAfterSeconds?: number | undefined;
	  };

export type DeliveryResult = {
	/** One entry per envelope recipient, in any order. */
	recipients: RecipientResult[];
	/** R2 key of the captured MIME (sandbox only). */
	mimeKey?: string | undefined;
};

/** The outcome of a gateway's cheapest credential check (`POST /v1/gateways/{id}/test`). */
export type GatewayCheck = { ok: boolean; detail: string };

export interface Gateway {
	readonly id: string;
	readonly type: GatewayType;
	send(message: RenderedMessage, envelope: Envelope, signal: AbortSignal): Promise<DeliveryResult>;
	/** Proves the credentials work without sending mail; `detail` is safe to show (no secret). */
	check?(signal: AbortSignal): Promise<GatewayCheck>;
}

/** What a driver may use besides its own configuration. */
export type DriverContext = {
	/** R2, where the sandbox captures. */
	bodies: R2Bucket;
	/** The outbound fetch; tests intercept it. */
	fetch: typeof fetch;
	environment: "development" | "test" | "staging" | "production";
	/** The Worker's `send_email` binding, for the `cloudflare` gateway in `binding` mode. */
	email?: SendEmail | undefined;
};

/** A configured gateway, credentials decrypted, as the registry turns it into a driver. */
export type GatewaySpec = {
	id: string;
	type: GatewayType;
	config: Record<string, unknown>;
	credentials: Record<string, unknown>;
};

/** Builds a driver, or says (without any secret) why this configuration cannot make one. */
export type DriverFactory = (spec: GatewaySpec, context: DriverContext) => Gateway | { error: string };

/** Longest a single provider call may take by default (the DELIVERY_TIMEOUT_MS var overrides it). */
export const DELIVERY_TIMEOUT_MS = 30_000;
