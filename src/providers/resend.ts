// Resend `POST /emails`: mapped fields with a bearer key, tags and metadata as Resend `tags`, and the
// envelope's stable key as `Idempotency-Key`, so a redelivered attempt is answered with the first
// send's id instead of mailing again (Resend keeps keys for 24 hours).
import { z } from "zod";
import {
	baseUrlField,
	call,
	checkWith,
	type FailureWithoutEmail,
	httpFailure,
	jsonOf,
	kindOfStatus,
	networkFailure,
	parseSpec,
	redactor,
	resolveBaseUrl,
} from "./http";
import { groupsFor, mailboxText, type RecipientGroup } from "./recipients";
import type { DeliveryFailureKind, DriverFactory, Gateway, RecipientResult, RenderedMessage } from "./types";

export const RESEND_BASE_URL = "https://api.resend.com";

export const resendConfig = z.strictObject({ base_url: baseUrlField });
export const resendCredentials = z.strictObject({ api_key: z.string().min(1) });

// Resend tag names and values may hold only ASCII letters, digits, underscores and dashes.
const tagSafe = (text: string) => text.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 256);

type ResendError = { statusCode?: unknown; name?: unknown; message?: unknown };

/** Resend's error names (resend.com/docs/api-reference/errors) that are not what their status says. */
export function resendKind(status: number, name: string | undefined): DeliveryFailureKind {
	// Another request with this key is still running: the key will answer once it settles.
	if (name === "concurrent_idempotent_requests") return "temporary";
	// Quotas are the account's limit, not the message's: another gateway, or later.
	if (name === "daily_quota_exceeded" || name === "monthly_quota_exceeded") return "temporary";
	return kindOfStatus(status);
}

function bodyFor(message: RenderedMessage, group: RecipientGroup) {
	const headers: Record<string, string> = {};
	for (const [name, value] of message.headers) headers[name] = value;
	return {
		from: mailboxText(message.from),
		to: group.to.map(mailboxText),
		...(group.cc.length > 0 ? { cc: group.cc.map(mailboxText) } : {}),
		...(group.bcc.length > 0 ? { bcc: group.bcc.map(mailboxText) } : {}),
		...(message.replyTo.length > 0 ? { reply_to: message.replyTo.map(mailboxText) } : {}),
		subject: message.subject,
		...(message.html !== undefined ? { html: message.html } : {}),
		...(message.text !== undefined ? { text: message.text } : {}),
		headers,
		...(message.attachments.length > 0
			? {
					attachments: message.attachments.map((a) => ({
						filename: a.filename,
						content: a.content,
						content_type: a.contentType,
						...(a.contentId ? { content_id: a.contentId } : {}),
					})),
				}
			: {}),
		tags: [
			...message.tags.map((t) => ({ name: tagSafe(t), value: "true" })),
			...Object.entries(message.metadata).map(([name, value]) => ({ name: tagSafe(name), value: tagSafe(value) })),
			{ name: "mq_message_id", value: tagSafe(message.id) },
		],
	};
}

export const createResendGateway: DriverFactory = (spec, context) => {
	const parsed = parseSpec(resendConfig, resendCredentials, spec);
	if ("error" in parsed) return parsed;
	const { config, credentials } = parsed;
	const base = resolveBaseUrl(config.base_url, RESEND_BASE_URL, context.environment);
	if ("error" in base) return base;
	const redact = redactor(credentials);
	const authorization = `Bearer ${credentials.api_key}`;

	const gateway: Gateway = {
		id: spec.id,
		type: "resend",
		async send(message, envelope, signal) {
			const groups = groupsFor(message, envelope);
			const results: RecipientResult[] = [];
			for (const group of groups) {
				// One call for the envelope uses its key; a per-recipient copy uses that recipient's.
				const single = groups.length > 1 ? group.recipients[0] : undefined;
				const result = await call(
					context,
					`${base.url}/emails`,
					{
						method: "POST",
						headers: {
							authorization,
							"content-type": "application/json",
							"idempotency-key": single ? single.idempotencyKey : envelope.idempotencyKey,
						},
						body: JSON.stringify(bodyFor(message, group)),
					},
					signal,
				);
				let outcome: FailureWithoutEmail | { status: "accepted"; providerMessageId: string | null };
				if (!result.ok) outcome = networkFailure("resend", result.error, redact);
				else {
					const { answer } = result;
					const body = jsonOf(answer.text) as (ResendError & { id?: unknown }) | undefined;
					if (answer.status >= 200 && answer.status < 300) {
						outcome = { status: "accepted", providerMessageId: typeof body?.id === "string" ? body.id : null };
					} else {
						const name = typeof body?.name === "string" ? body.name : undefined;
						const text = name ? `${name}: ${String(body?.message ?? "")}` : answer.text;
						outcome = httpFailure("resend", answer, text, redact, resendKind(answer.status, name));
					}
				}
				for (const r of group.recipients) results.push({ ...outcome, email: r.email });
			}
			return { recipients: results };
		},
		check(signal) {
			return checkWith(
				context,
				"resend",
				`${base.url}/domains`,
				{ headers: { authorization } },
				signal,
				redact,
				(answer) => {
					const data = (jsonOf(answer.text) as { data?: { name?: unknown; status?: unknown }[] } | undefined)?.data;
					const domains = Array.isArray(data) ? data.map((d) => `${String(d.name)} (${String(d.status)})`) : [];
					return domains.length > 0 ? `domains: ${domains.join(", ")}` : "the key works; no domains yet";
				},
				(answer) => {
					const body = jsonOf(answer.text) as ResendError | undefined;
					return body?.name ? `${String(body.name)}: ${String(body.message ?? "")}` : answer.text;
				},
				// A sending-only key may not list domains, and Resend says exactly that.
				(answer) =>
					(jsonOf(answer.text) as ResendError | undefined)?.name === "restricted_api_key"
						? "the key is valid and restricted to sending"
						: null,
			);
		},
	};
	return gateway;
};
