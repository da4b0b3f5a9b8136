// /v1/smtp: what the SMTP bridge (smtp-bridge/) calls on behalf of an SMTP client, authenticated with
// the client's AUTH user name and password (an API key, or an SMTP credential) as Basic credentials. `auth` checks the key when the client logs in;
// `messages` takes one message as received (envelope + raw RFC 5322) and accepts it through the same
// validateSend/submitOne path as POST /v1/emails, so limits, idempotency, routing and events match;
// the client's text is what gets delivered (raw mode, docs/smtp.md).
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { IdempotencyRequest } from "../../domain/idempotency";
import { sendQueues } from "../../domain/messages/bands";
import { parseSubmission } from "../../domain/messages/from-mime";
import { checkBridgeSecret, relaySender, trustedClientIp } from "../../domain/messages/relay";
import { submitOne } from "../../domain/messages/submit";
import type { Sender } from "../../domain/messages/validate";
import { ApiError } from "../../errors";
import { fromBase64 } from "../../lib/encoding";
import type { App, AppEnv } from "../context";
import { jsonBody, limitBody } from "../middleware/json-body";
import { smtpAuthed } from "../middleware/smtp-auth";
import { authErrors, bodyErrors, conflict, jsonContent, unavailable } from "../schemas/common";
import { AcceptedSchema } from "../schemas/emails";

const SMTP_MESSAGES_PATH = "/v1/smtp/messages";
const SMTP_RELAY_PATH = "/v1/smtp/relay";

const SmtpAuthSchema = z
	.object({
		workspace_id: z.string(),
		key_id: z.string(),
		mode: z.enum(["live", "test"]),
		sandbox: z.boolean().openapi({ description: "True when every message is captured by the sandbox" }),
	})
	.openapi("SmtpAuth");

const SmtpMessageSchema = z
	.strictObject({
		mail_from: z
			.string()
			.max(998)
			.openapi({ description: "The envelope sender (MAIL FROM); empty for a null sender." }),
		rcpt_to: z.array(z.string().min(1).max(998)).min(1).max(1000).openapi({
			description: "The envelope recipients (RCPT TO). Recipients not in To or Cc are delivered as Bcc.",
		}),
		raw: z.string().min(1).openapi({ description: "The message as received after DATA, base64-encoded." }),
	})
	.openapi("SmtpMessage");

const smtpSecurity: Record<string, string[]>[] = [{ bearerAuth: [] }, { smtpBasic: [] }];

const authRoute = createRoute({
	method: "post",
	path: "/v1/smtp/auth",
	tags: ["SMTP"],
	summary: "Check an SMTP client's credentials",
	description:
		"The SMTP bridge calls this when a client sends AUTH, with the client's user name and password as Basic credentials: a password that is an API key (email:send) is checked as that key, anything else as an SMTP credential.",
	security: smtpSecurity,
	middleware: smtpAuthed(),
	responses: { 200: jsonContent(SmtpAuthSchema, "The key may send"), ...authErrors },
});

const messageRoute = createRoute({
	method: "post",
	path: SMTP_MESSAGES_PATH,
	tags: ["SMTP"],
	summary: "Submit a message received over SMTP",
	description:
		"Parses the raw message and accepts it exactly as POST /v1/emails would, then delivers the client's own MIME with only the relay's header changes. X-Tags, X-Metadata, X-Queue (a named queue), X-User-ID (the rate-limit sender) and X-Idempotency-Key are read and stripped; without X-Idempotency-Key the Message-ID and envelope make a retry of the same transaction a replay. The bridge reports the client's IP in X-Client-IP, believed only with X-Bridge-Authorization: Bearer <SMTP_BRIDGE_SECRET> (then recorded as client_ip and used for the key's IP allowlist). Answers 202 once the message is durable on the send queue.",
	security: smtpSecurity,
	middleware: smtpAuthed(),
	request: { body: { required: true, content: { "application/json": { schema: SmtpMessageSchema } } } },
	responses: {
		202: jsonContent(AcceptedSchema, "Accepted and queued"),
		...authErrors,
		...bodyErrors,
		...conflict,
		...unavailable,
	},
});

/** The bridge itself, by SMTP_BRIDGE_SECRET: checked before a byte of the body is read. */
export const bridgeOnly = createMiddleware<AppEnv>(async (c, next) => {
	const refused = checkBridgeSecret(c.var.config.SMTP_BRIDGE_SECRET, c.req.header("authorization"));
	if (refused) throw refused;
	await next();
});

const relayRoute = createRoute({
	method: "post",
	path: SMTP_RELAY_PATH,
	tags: ["SMTP"],
	summary: "Relay a message the bridge took without AUTH from a trusted network",
	description:
		"Called by the SMTP bridge only, with SMTP_BRIDGE_SECRET as the bearer token. The message is sent as the one active workspace that verified its From domain; otherwise exactly as POST /v1/smtp/messages. X-Client-IP (the SMTP client's address) is recorded as client_ip.",
	security: [{ bearerAuth: [] }],
	middleware: [bridgeOnly, limitBody, jsonBody],
	request: { body: { required: true, content: { "application/json": { schema: SmtpMessageSchema } } } },
	responses: {
		202: jsonContent(AcceptedSchema, "Accepted and queued"),
		...authErrors,
		...bodyErrors,
		...conflict,
		...unavailable,
	},
});

function decodeRaw(raw: string): Uint8Array {
	try {
		return fromBase64(raw);
	} catch {
		throw new ApiError("validation_error", "raw: is not valid base64", [
			{ path: "raw", message: "is not valid base64" },
		]);
	}
}

function idempotencyOf(c: Context<AppEnv>, workspaceId: string, key: string | null): IdempotencyRequest | null {
	if (key === null) return null;
	// One path for both routes: a relayed retry of a message first sent with AUTH is the same message.
	return { store: c.env.IDEMPOTENCY, workspaceId, key, method: "POST", path: SMTP_MESSAGES_PATH, body: c.var.rawBody };
}

type SmtpBody = z.infer<typeof SmtpMessageSchema>;

/** Parse, pick the sender, accept through submitOne: the one path both routes share. */
async function accept(
	c: Context<AppEnv>,
	body: SmtpBody,
	senderFor: (input: Record<string, unknown>) => Promise<Sender>,
	bridgeAuthorization: string | undefined,
): Promise<{ body: z.infer<typeof AcceptedSchema>; headers: Record<string, string> }> {
	const parsed = await parseSubmission(decodeRaw(body.raw), { mailFrom: body.mail_from, rcptTo: body.rcpt_to });
	if (!parsed.ok) throw parsed.error;
	const clientIp = trustedClientIp(c.var.config.SMTP_BRIDGE_SECRET, bridgeAuthorization, c.req.header("x-client-ip"));
	const sender: Sender = { ...(await senderFor(parsed.value.input)), source: "smtp", clientIp };
	const outcome = await submitOne(
		parsed.value.input,
		sender,
		{
			signingKey: c.var.config.SIGNING_KEY,
			queue: sendQueues(c.env),
			bodies: c.env.BODIES,
			// Relayed mail has no key: its hard send limits are enforced by the consumer.
			...(c.var.limitGate ? { limits: c.var.limitGate } : {}),
		},
		idempotencyOf(c, sender.workspaceId, parsed.value.idempotencyKey),
		parsed.value.raw ?? undefined,
	);
	if (!outcome.ok) throw outcome.error;
	const headers: Record<string, string> = outcome.value.replayed ? { "Idempotent-Replayed": "true" } : {};
	return { body: outcome.value.body as z.infer<typeof AcceptedSchema>, headers };
}

export function registerSmtpRoutes(app: App): void {
	app.openAPIRegistry.registerComponent("securitySchemes", "smtpBasic", {
		type: "http",
		scheme: "basic",
		description: "The SMTP client's AUTH user name and password (an API key or an SMTP credential).",
	});
	app.openapi(authRoute, (c) => {
		const p = c.var.principal;
		return c.json({ workspace_id: p.workspaceId, key_id: p.keyId, mode: p.mode, sandbox: p.sandbox }, 200);
	});

	app.openapi(messageRoute, async (c) => {
		const p = c.var.principal;
		const { body, headers } = await accept(
			c,
			c.req.valid("json"),
			async () => ({
				workspaceId: p.workspaceId,
				apiKeyId: p.keyId,
				sandbox: p.sandbox,
				verifiedDomains: p.verifiedDomains,
				verifiedParentDomains: p.verifiedParentDomains,
				unverifiedDomains: p.unverifiedDomains,
				queues: p.queues,
			}),
			c.req.header("x-bridge-authorization"),
		);
		return c.json(body, 202, headers);
	});

	app.openapi(relayRoute, async (c) => {
		const { body, headers } = await accept(
			c,
			c.req.valid("json"),
			async (input) => {
				const sender = await relaySender(c.env.DB, input.from);
				if (!sender.ok) throw sender.error;
				return sender.value;
			},
			c.req.header("authorization"),
		);
		return c.json(body, 202, headers);
	});
}
