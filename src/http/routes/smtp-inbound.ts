// The Worker side of the SMTP bridge's MX mode (docs/inbound.md "MX mode"), authenticated with the
// bridge secret like /v1/smtp/relay: the RCPT check, and the received message, which goes through
// receiveInbound exactly as the Email Worker's email() does. `stored: true` means R2 and D1 have it.
import { createRoute, z } from "@hono/zod-openapi";
import { inboundDeps } from "../../domain/inbound/deps";
import { checkInboundRecipient, receiveInbound } from "../../domain/inbound/receive";
import { ApiError } from "../../errors";
import type { App } from "../context";
import { jsonBody, limitBody } from "../middleware/json-body";
import { authErrors, bodyErrors, jsonContent, unavailable } from "../schemas/common";
import { bridgeOnly } from "./smtp";

const RecipientCheckSchema = z
	.strictObject({
		mail_from: z.string().max(998).openapi({ description: "MAIL FROM; empty for a null sender (bounces)" }),
		recipient: z.string().min(1).max(998),
	})
	.openapi("InboundRecipientCheck");

const RecipientAnswerSchema = z
	.object({
		accept: z.boolean(),
		code: z.number().optional(),
		enhanced: z.string().optional(),
		message: z.string().optional(),
	})
	.openapi("InboundRecipientAnswer");

const StoredSchema = z.object({ stored: z.literal(true), id: z.string() }).openapi("InboundStored");

const security = [{ bearerAuth: [] }];
const tags = ["SMTP"];

const recipientRoute = createRoute({
	method: "post",
	path: "/v1/smtp/inbound/recipient",
	tags,
	summary: "MX mode: may the bridge accept this RCPT TO?",
	description:
		"Called by the SMTP bridge only, with SMTP_BRIDGE_SECRET as the bearer token. Accepts VERP bounce addresses whose token verifies, the feedback-loop address of a bounce domain, and addresses of an enabled inbound route; anything else answers `accept: false` with the SMTP reply to give.",
	security,
	middleware: [bridgeOnly, limitBody, jsonBody],
	request: { body: { required: true, content: { "application/json": { schema: RecipientCheckSchema } } } },
	responses: { 200: jsonContent(RecipientAnswerSchema, "The decision"), ...authErrors, ...bodyErrors },
});

const messageRoute = createRoute({
	method: "post",
	path: "/v1/smtp/inbound",
	tags,
	summary: "MX mode: a message the bridge received",
	description:
		"The raw message is the body (Content-Type: message/rfc822); the envelope is in X-Envelope-From and X-Envelope-To (comma-separated), the client's address in X-Client-IP. Answers 200 only once the message is in R2 and D1; 422 `mail_refused` (the bridge answers 550); 503 when storage is down (the bridge answers 451).",
	security,
	middleware: [bridgeOnly, limitBody],
	responses: {
		200: jsonContent(StoredSchema, "Stored durably"),
		...authErrors,
		...bodyErrors,
		...unavailable,
	},
});

const ENVELOPE_ADDRESS = z.string().max(998);

export function registerSmtpInboundRoutes(app: App): void {
	app.openapi(recipientRoute, async (c) => {
		const body = c.req.valid("json");
		const answer = await checkInboundRecipient(inboundDeps(c.env, c.var.config, "mx"), body.recipient);
		if (answer.accept) return c.json({ accept: true }, 200);
		return c.json({ accept: false, ...answer.refusal }, 200);
	});

	app.openapi(messageRoute, async (c) => {
		const mailFrom = ENVELOPE_ADDRESS.safeParse(c.req.header("x-envelope-from") ?? "");
		const rcptTo = (c.req.header("x-envelope-to") ?? "")
			.split(",")
			.map((r) => r.trim())
			.filter((r) => r.length > 0);
		if (!mailFrom.success || rcptTo.length === 0 || rcptTo.length > 100) {
			throw new ApiError("validation_error", "X-Envelope-To: one to 100 comma-separated recipients are required", [
				{ path: "x-envelope-to", message: "one to 100 comma-separated recipients are required" },
			]);
		}
		const raw = new Uint8Array(await c.req.arrayBuffer());
		if (raw.byteLength === 0) {
			throw new ApiError("validation_error", "The body must be the raw message", [
				{ path: "body", message: "is empty" },
			]);
		}
		const result = await receiveInbound(inboundDeps(c.env, c.var.config, "mx"), {
			mailFrom: mailFrom.data,
			rcptTo,
			raw,
			clientIp: c.req.header("x-client-ip"),
		});
		if (result.ok) {
			const [id] = result.value.ids;
			if (id) return c.json({ stored: true as const, id }, 200);
		}
		if (!result.ok && result.error.kind === "refused") {
			const { code, enhanced, message } = result.error.refusal;
			throw new ApiError("mail_refused", `${code} ${enhanced} ${message}`, [
				{ path: "smtp", message: `${code} ${enhanced} ${message}` },
			]);
		}
		throw new ApiError("service_unavailable", "Inbound storage is unavailable; try again later.");
	});
}
