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

export const GATEWAY_SCHEMAS: Record<GatewayType, GatewaySchemas> = {
	sandbox: { config: z.strictObject({}), credentials: z.strictObject({}) },
	mailgun: { config: mailgunConfig, credentials: mailgunCredentials },
	sendgrid: { config: sendgridConfig, credentials: sendgridCredentials },
	postmark: { config: postmarkConfig, credentials: postmarkCredentials },
	resend: { config: resendConfig, credentials: resendCredentials },
	ses: { config: sesConfig, credentials: sesCredentials },
	gmail: { config: gmailConfig, credentials: gmailCredentials },
	smtp: { config: smtpConfig, credentials: smtpCredentials },
	cloudflare: { config: cloudflareConfig, credentials: cloudflareCredentials },
};

/** Config fields that name an endpoint, which must be https outside development. */
export const URL_FIELDS = ["base_url", "token_url"] as const;
