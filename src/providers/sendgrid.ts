// SendGrid v3 Mail Send: SendGrid builds the MIME itself, so the rendered message goes as mapped
// fields (personalizations from the envelope, content, attachments, headers), tags as `categories`
// and metadata as `custom_args`. 202 means accepted; the id comes back in `X-Message-Id`.
import { z } from "zod";
import {
	baseUrlField,
	call,
	checkWith,
	forAll,
	httpFailure,
	jsonOf,
	networkFailure,
	parseSpec,
	redactor,
	resolveBaseUrl,
} from "./http";
import { groupsFor } from "./recipients";
import type { DriverFactory, Gateway, Mailbox, RenderedMessage } from "./types";

export const SENDGRID_BASE_URL = "https://api.sendgrid.com";
/** SendGrid refuses more than ten categories on one message. */
const MAX_CATEGORIES = 10;
/** Headers SendGrid writes itself and refuses in `headers`. */
const SENDGRID_OWN_HEADERS = new Set(["x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type", "reply-to"]);

export const sendgridConfig = z.strictObject({ base_url: baseUrlField });
export const sendgridCredentials = z.strictObject({ api_key: z.string().min(1) });

const address = (m: Mailbox) => (m.name ? { email: m.email, name: m.name } : { email: m.email });

/** SendGrid's error body: `{ "errors": [{ "message", "field", "help" }] }`. */
function errorText(text: string): string {
	const body = jsonOf(text) as { errors?: { message?: unknown; field?: unknown }[] } | undefined;
	if (!Array.isArray(body?.errors)) return text;
	return body.errors.map((e) => (e.field ? `${String(e.field)}: ${String(e.message)}` : String(e.message))).join("; ");
}

export function sendgridBody(message: RenderedMessage, envelope: Parameters<typeof groupsFor>[1]) {
	const content: { type: string; value: string }[] = [];
	// SendGrid requires text/plain before text/html.
	if (message.text !== undefined) content.push({ type: "text/plain", value: message.text });
	if (message.html !== undefined) content.push({ type: "text/html", value: message.html });
	const headers: Record<string, string> = { "Message-ID": message.messageIdHeader };
	for (const [name, value] of message.headers) {
		if (!SENDGRID_OWN_HEADERS.has(name.toLowerCase())) headers[name] = value;
	}
	return {
		personalizations: groupsFor(message, envelope).map((g) => ({
			to: g.to.map(address),
			...(g.cc.length > 0 ? { cc: g.cc.map(address) } : {}),
			...(g.bcc.length > 0 ? { bcc: g.bcc.map(address) } : {}),
		})),
		from: address(message.from),
		...(message.replyTo.length > 0 ? { reply_to_list: message.replyTo.map(address) } : {}),
		subject: message.subject,
		content,
		...(message.attachments.length > 0
			? {
					attachments: message.attachments.map((a) => ({
						content: a.content,
						filename: a.filename,
						type: a.contentType,
						disposition: a.contentId ? "inline" : "attachment",
						...(a.contentId ? { content_id: a.contentId } : {}),
					})),
				}
			: {}),
		headers,
		...(message.tags.length > 0 ? { categories: message.tags.slice(0, MAX_CATEGORIES) } : {}),
		custom_args: { ...message.metadata, mq_message_id: message.id },
	};
}

export const createSendgridGateway: DriverFactory = (spec, context) => {
	const parsed = parseSpec(sendgridConfig, sendgridCredentials, spec);
	if ("error" in parsed) return parsed;
	const { config, credentials } = parsed;
	const base = resolveBaseUrl(config.base_url, SENDGRID_BASE_URL, context.environment);
	if ("error" in base) return base;
	const redact = redactor(credentials);
	const authorization = `Bearer ${credentials.api_key}`;

	const gateway: Gateway = {
		id: spec.id,
		type: "sendgrid",
		async send(message, envelope, signal) {
			const result = await call(
				context,
				`${base.url}/v3/mail/send`,
				{
					method: "POST",
					headers: { authorization, "content-type": "application/json" },
					body: JSON.stringify(sendgridBody(message, envelope)),
				},
				signal,
			);
			if (!result.ok) return forAll(envelope, networkFailure("sendgrid", result.error, redact));
			const { answer } = result;
			if (answer.status >= 200 && answer.status < 300) {
				return forAll(envelope, { status: "accepted", providerMessageId: answer.headers.get("x-message-id") });
			}
			return forAll(envelope, httpFailure("sendgrid", answer, errorText(answer.text), redact));
		},
		check(signal) {
			return checkWith(
				context,
				"sendgrid",
				`${base.url}/v3/scopes`,
				{ headers: { authorization } },
				signal,
				redact,
				(answer) => {
					const scopes = (jsonOf(answer.text) as { scopes?: unknown } | undefined)?.scopes;
					if (Array.isArray(scopes) && !scopes.includes("mail.send")) return null;
					return "the key has the mail.send scope";
				},
				(answer) => (answer.status < 300 ? "the key lacks the mail.send scope" : errorText(answer.text)),
			);
		},
	};
	return gateway;
};
