// Every gateway type this build can send through, keyed by type. Each driver module exports its
// factory; the registry (registry.ts) is the only reader of this table.
import type { GatewayType } from "../db/schema";
import { createCloudflareGateway } from "./cloudflare";
import { createGmailGateway } from "./gmail";
import { createMailgunGateway } from "./mailgun";
import { createPostmarkGateway } from "./postmark";
import { createResendGateway } from "./resend";
import { createSandboxGateway } from "./sandbox";
import { createSendgridGateway } from "./sendgrid";
import { createSesGateway } from "./ses";
import { createSmtpGateway } from "./smtp";
import type { DriverFactory } from "./types";

export const DRIVERS: Partial<Record<GatewayType, DriverFactory>> = {
	sandbox: createSandboxGateway,
	mailgun: createMailgunGateway,
	sendgrid: createSendgridGateway,
	postmark: createPostmarkGateway,
	resend: createResendGateway,
	ses: createSesGateway,
	gmail: createGmailGateway,
	smtp: createSmtpGateway,
	cloudflare: createCloudflareGateway,
};
