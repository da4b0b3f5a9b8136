// Postmark `POST /email`: mapped fields (Postmark renders the MIME), the server token in
// `X-Postmark-Server-Token`, the message stream, the first tag as `Tag`, metadata as `Metadata`.
// Postmark answers errors as 422 with an `ErrorCode`, which decides the classification.
import { z } from "zod";
import {
	baseUrlField,
	call,
	checkWith,
	type FailureWithoutEmail,
	httpFailure,
	jsonOf,
	networkFailure,
	parseSpec,
	redactor,
	resolveBaseUrl,
} from "./http";
import { groupsFor, mailboxText, type RecipientGroup } from "./recipients";
import type { DeliveryFailureKind, DriverFactory, Gateway, RecipientResult, RenderedMessage } from "./types";

export const POSTMARK_BASE_URL = "https://api.postmarkapp.com";

export const postmarkConfig = z.strictObject({
	message_stream: z.string().min(1).default("outbound"),
	base_url: baseUrlField,
});
export const postmarkCredentials = z.strictObject({ server_token: z.string().min(1) });

/**
 * Postmark's API error codes (postmarkapp.com/developer/api/overview#error-codes) that are not about
 * this message: a bad token or a sender/account the server may not use is the gateway's problem
 * (try another gateway); maintenance and rate limits pass.
 */
const AUTH_CODES = new Set([10, 400, 401, 405, 412, 413]);
const TEMPORARY_CODES = new Set([100, 429]);

export function postmarkKind(status: number, errorCode: number | undefined): DeliveryFailureKind {
	if (errorCode !== undefined && AUTH_CODES.has(errorCode)) return "auth";
	if (errorCode !== undefined && TEMPORARY_CODES.has(errorCode)) return "temporary";
	if (status === 401 || status === 403) return "auth";
	if (status === 429 || status >= 500) return "temporary";
	return "permanent";
}

function bodyFor(message: RenderedMessage, group: RecipientGroup, stream: string) {
	const list = (boxes: RecipientGroup["to"]) => boxes.map(mailboxText).join(", ");
	return {
		From: mailboxText(message.from),
		To: list(group.to),
		...(group.cc.length > 0 ? { Cc: list(group.cc) } : {}),
		...(group.bcc.length > 0 ? { Bcc: list(group.bcc) } : {}),
		...(message.replyTo.length > 0 ? { ReplyTo: list(message.replyTo) } : {}),
		Subject: message.subject,
		...(message.html !== undefined ? { HtmlBody: message.html } : {}),
		...(message.text !== undefined ? { TextBody: message.text } : {}),
		Headers: [
			{ Name: "Message-ID", Value: message.messageIdHeader },
			...message.headers.map(([Name, Value]) => ({ Name, Value })),
		],
		...(message.tags[0] !== undefined ? { Tag: message.tags[0] } : {}),
		Metadata: { ...message.metadata, mq_message_id: message.id },
		MessageStream: stream,
		...(message.attachments.length > 0
			? {
					Attachments: message.attachments.map((a) => ({
						Name: a.filename,
						Content: a.content,
						ContentType: a.contentType,
						...(a.contentId ? { ContentID: `cid:${a.contentId}` } : {}),
					})),
				}
			: {}),
	};
}

type PostmarkAnswer = { ErrorCode?: unknown; Message?: unknown; MessageID?: unknown };

export const createPostmarkGateway: DriverFactory = (spec, context) => {
	const parsed = parseSpec(postmarkConfig, postmarkCredentials, spec);
	if ("error" in parsed) return parsed;
	const { config, credentials } = parsed;
	const base = resolveBaseUrl(config.base_url, POSTMARK_BASE_URL, context.environment);
	if ("error" in base) return base;
	const redact = redactor(credentials);
	const headers = {
		accept: "application/json",
		"content-type": "application/json",
		"x-postmark-server-token": credentials.server_token,
	};

	const gateway: Gateway = {
		id: spec.id,
		type: "postmark",
		async send(message, envelope, signal) {
			const results: RecipientResult[] = [];
			// Normally one group; a retry that reaches no header To sends one copy per recipient.
			for (const group of groupsFor(message, envelope)) {
				const result = await call(
					context,
					`${base.url}/email`,
					{ method: "POST", headers, body: JSON.stringify(bodyFor(message, group, config.message_stream)) },
					signal,
				);
				let outcome: FailureWithoutEmail | { status: "accepted"; providerMessageId: string | null };
				if (!result.ok) outcome = networkFailure("postmark", result.error, redact);
				else {
					const { answer } = result;
					const body = jsonOf(answer.text) as PostmarkAnswer | undefined;
					const code = typeof body?.ErrorCode === "number" ? body.ErrorCode : undefined;
					if (answer.status >= 200 && answer.status < 300 && (code === undefined || code === 0)) {
						const id = typeof body?.MessageID === "string" ? body.MessageID : null;
						outcome = { status: "accepted", providerMessageId: id };
					} else {
						const text = `${code !== undefined ? `ErrorCode ${code}: ` : ""}${String(body?.Message ?? answer.text)}`;
						outcome = httpFailure("postmark", answer, text, redact, postmarkKind(answer.status, code));
					}
				}
				for (const r of group.recipients) results.push({ ...outcome, email: r.email });
			}
			return { recipients: results };
		},
		check(signal) {
			return checkWith(
				context,
				"postmark",
				`${base.url}/server`,
				{ headers: { accept: "application/json", "x-postmark-server-token": credentials.server_token } },
				signal,
				redact,
				(answer) => `server "${String((jsonOf(answer.text) as { Name?: unknown } | undefined)?.Name ?? "?")}"`,
				(answer) => String((jsonOf(answer.text) as PostmarkAnswer | undefined)?.Message ?? answer.text),
			);
		},
	};
	return gateway;
};
