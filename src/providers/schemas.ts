// The `config` and `credentials` schema of every gateway type, for the API to validate a gateway
// before it is stored (each driver module owns its own pair; this table only gathers them).
import { z } from "zod";
import type { GatewayType } from "../db/schema";
import { cloudflareConfig, cloudflareCredentials } from "./cloudflare";
import { gmailConfig, gmailCredentials } from "./gmail";
import { mailgunConfig, mailgunCredentials } from "./mailgun";
import { postmarkConfig, postmarkCredentials } from "./postmark";
import { resendConfig, resendCredentials } from "./resend";
import { sendgridConfig, sendgridCredentials } from "./sendgrid";
import { sesConfig, sesCredentials } from "./ses";
import { smtpConfig, smtpCredentials } from "./smtp";

export type GatewaySchemas = {
	config: z.ZodType<Record<string, unknown>>;
	credentials: z.ZodType<Record<string, unknown>>;
};

/**
 * Secrets for receiving each provider's event webhooks (docs/provider-webhooks.md), stored sealed
 * with the gateway's credentials and read by src/domain/provider-events; never passed to a driver.
 */
export const WEBHOOK_CREDENTIALS = {
	mailgun: { webhook_signing_key: z.string().min(1).max(200).optional() },
	sendgrid: {
		webhook_public_key: z
			.string()
			.regex(/^[A-Za-z0-9+/=\s-]+$/, "must be the base64 verification key from SendGrid's Mail Settings")
			.max(1000)
			.optional(),
	},
	postmark: {
		webhook_username: z.string().min(1).max(200).optional(),
		webhook_password: z.string().min(8).max(200).optional(),
	},
	resend: {
		webhook_secret: z
			.string()
			.regex(/^whsec_[A-Za-z0-9+/=]+$/, "must be Resend's whsec_… signing secret")
			.optional(),
	},
	ses: {
		sns_topic_arn: z
			.string()
			.regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/, "must be an SNS topic ARN")
			.optional(),
	},
} as const;

/** Credential keys the relay reads itself, stripped before a driver (whose schema is strict) sees them. */
export const WEBHOOK_CREDENTIAL_KEYS: readonly string[] = Object.values(WEBHOOK_CREDENTIALS).flatMap((fields) =>
	Object.keys(fields),
);

export const GATEWAY_SCHEMAS: Record<GatewayType, GatewaySchemas> = {
	sandbox: { config: z.strictObject({}), credentials: z.strictObject({}) },
	mailgun: { config: mailgunConfig, credentials: mailgunCredentials.extend(WEBHOOK_CREDENTIALS.mailgun) },
	sendgrid: { config: sendgridConfig, credentials: sendgridCredentials.extend(WEBHOOK_CREDENTIALS.sendgrid) },
	postmark: { config: postmarkConfig, credentials: postmarkCredentials.extend(WEBHOOK_CREDENTIALS.postmark) },
	resend: { config: resendConfig, credentials: resendCredentials.extend(WEBHOOK_CREDENTIALS.resend) },
	ses: { config: sesConfig, credentials: sesCredentials.extend(WEBHOOK_CREDENTIALS.ses) },
	gmail: { config: gmailConfig, credentials: gmailCredentials },
	smtp: { config: smtpConfig, credentials: smtpCredentials },
	cloudflare: { config: cloudflareConfig, credentials: cloudflareCredentials },
};

/** Config fields that name an endpoint, which must be https outside development. */
export const URL_FIELDS = ["base_url", "token_url"] as const;
