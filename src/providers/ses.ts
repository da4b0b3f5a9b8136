// Amazon SES v2 SendEmail with raw content: `POST {base}/v2/email/outbound-emails`, SigV4-signed by
// aws4fetch (a 3 KB WebCrypto signer that runs in workerd, where the AWS SDK's Node internals do
// not), the envelope recipients as `Destination`, tags and metadata as `EmailTags`.
import { AwsClient } from "aws4fetch";
import { z } from "zod";
import { toBase64, utf8 } from "../lib/encoding";
import {
	baseUrlField,
	call,
	checkWith,
	forAll,
	httpFailure,
	jsonOf,
	kindOfStatus,
	networkFailure,
	parseSpec,
	redactor,
	resolveBaseUrl,
} from "./http";
import type { DeliveryFailureKind, DriverFactory, Gateway } from "./types";

export const sesConfig = z.strictObject({
	region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "is not an AWS region such as eu-west-1"),
	configuration_set: z.string().min(1).optional(),
	base_url: baseUrlField,
});
export const sesCredentials = z.strictObject({
	access_key_id: z.string().min(1),
	secret_access_key: z.string().min(1),
	session_token: z.string().min(1).optional(),
});

// Tag names and values may hold only ASCII letters, digits, underscores and dashes.
const tagSafe = (text: string) => text.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 256) || "_";

/** SES error types (`x-amzn-ErrorType`) whose meaning differs from their HTTP status. */
const SES_KINDS: Record<string, DeliveryFailureKind> = {
	MessageRejected: "permanent",
	MailFromDomainNotVerifiedException: "auth",
	AccountSuspendedException: "auth",
	SendingPausedException: "auth",
	NotFoundException: "auth",
	LimitExceededException: "temporary",
	TooManyRequestsException: "temporary",
	ThrottlingException: "temporary",
};

function errorOf(answer: { headers: Headers; text: string }): { type: string; message: string } {
	const body = jsonOf(answer.text) as { message?: unknown; Message?: unknown; __type?: unknown } | undefined;
	// The header reads `MessageRejected:http://internal.amazon.com/coral/...`; the name is before `:`.
	const raw = answer.headers.get("x-amzn-errortype") ?? (typeof body?.__type === "string" ? body.__type : "");
	const type = raw.split(":")[0]?.split("#").pop() ?? "";
	return { type, message: String(body?.message ?? body?.Message ?? answer.text) };
}

export const createSesGateway: DriverFactory = (spec, context) => {
	const parsed = parseSpec(sesConfig, sesCredentials, spec);
	if ("error" in parsed) return parsed;
	const { config, credentials } = parsed;
	const base = resolveBaseUrl(config.base_url, `https://email.${config.region}.amazonaws.com`, context.environment);
	if ("error" in base) return base;
	const redact = redactor(credentials);
	const aws = new AwsClient({
		accessKeyId: credentials.access_key_id,
		secretAccessKey: credentials.secret_access_key,
		...(credentials.session_token ? { sessionToken: credentials.session_token } : {}),
		service: "ses",
		region: config.region,
		// Retries belong to the consumer's schedule, not to the signer.
		retries: 0,
	});

	const gateway: Gateway = {
		id: spec.id,
		type: "ses",
		async send(message, envelope, signal) {
			const body = {
				FromEmailAddress: message.from.email,
				Destination: { ToAddresses: envelope.recipients.map((r) => r.email) },
				Content: { Raw: { Data: toBase64(utf8.encode(message.raw)) } },
				EmailTags: [
					...message.tags.map((t) => ({ Name: tagSafe(t), Value: "true" })),
					...Object.entries(message.metadata).map(([k, v]) => ({ Name: tagSafe(k), Value: tagSafe(v) })),
					{ Name: "mq_message_id", Value: tagSafe(message.id) },
				],
				...(config.configuration_set ? { ConfigurationSetName: config.configuration_set } : {}),
			};
			const signed = await aws.sign(`${base.url}/v2/email/outbound-emails`, {
				method: "POST",
				headers: { "content-type": "application/json" },
				body: JSON.stringify(body),
			});
			const result = await call(context, signed, {}, signal);
			if (!result.ok) return forAll(envelope, networkFailure("ses", result.error, redact));
			const { answer } = result;
			if (answer.status >= 200 && answer.status < 300) {
				const id = (jsonOf(answer.text) as { MessageId?: unknown } | undefined)?.MessageId;
				return forAll(envelope, { status: "accepted", providerMessageId: typeof id === "string" ? id : null });
			}
			const error = errorOf(answer);
			const kind = SES_KINDS[error.type] ?? kindOfStatus(answer.status);
			const text = error.type ? `${error.type}: ${error.message}` : error.message;
			return forAll(envelope, httpFailure("ses", answer, text, redact, kind));
		},
		async check(signal) {
			const signed = await aws.sign(`${base.url}/v2/email/account`, { method: "GET" });
			return checkWith(
				context,
				"ses",
				signed,
				{},
				signal,
				redact,
				(answer) => {
					const account = jsonOf(answer.text) as
						| { SendingEnabled?: unknown; ProductionAccessEnabled?: unknown; SendQuota?: { Max24HourSend?: unknown } }
						| undefined;
					if (account?.SendingEnabled === false) return null;
					const sandbox = account?.ProductionAccessEnabled === false ? " (SES sandbox: verified recipients only)" : "";
					return `sending enabled, ${String(account?.SendQuota?.Max24HourSend ?? "?")} per 24 h${sandbox}`;
				},
				(answer) => {
					if (answer.status < 300) return "sending is disabled for this account";
					const error = errorOf(answer);
					return error.type ? `${error.type}: ${error.message}` : error.message;
				},
			);
		},
	};
	return gateway;
};
