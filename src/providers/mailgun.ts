// Mailgun: the rendered MIME goes to `POST /v3/{domain}/messages.mime` (so DKIM and headers arrive
// as signed), the envelope recipients as `to`, tags as `o:tag` and metadata as `v:` variables, with
// basic auth `api:<key>`. The EU region has its own host.
import { z } from "zod";
import {
	baseUrlField,
	basicAuth,
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
import type { DriverFactory, Gateway } from "./types";

export const MAILGUN_HOSTS = { us: "https://api.mailgun.net", eu: "https://api.eu.mailgun.net" } as const;
/** Mailgun keeps at most three tags per message. */
const MAX_TAGS = 3;

export const mailgunConfig = z.strictObject({
	domain: z.string().min(1),
	region: z.enum(["us", "eu"]).default("us"),
	base_url: baseUrlField,
});

export const mailgunCredentials = z.strictObject({ api_key: z.string().min(1) });

const messageOf = (text: string): string => {
	const body = jsonOf(text);
	if (body && typeof body === "object" && "message" in body && typeof body.message === "string") return body.message;
	return text;
};

export const createMailgunGateway: DriverFactory = (spec, context) => {
	const parsed = parseSpec(mailgunConfig, mailgunCredentials, spec);
	if ("error" in parsed) return parsed;
	const { config, credentials } = parsed;
	const base = resolveBaseUrl(config.base_url, MAILGUN_HOSTS[config.region], context.environment);
	if ("error" in base) return base;
	const redact = redactor(credentials);
	const authorization = basicAuth("api", credentials.api_key);
	const domain = encodeURIComponent(config.domain);

	const gateway: Gateway = {
		id: spec.id,
		type: "mailgun",
		async send(message, envelope, signal) {
			const form = new FormData();
			for (const r of envelope.recipients) form.append("to", r.email);
			form.append("message", new Blob([message.raw], { type: "message/rfc822" }), "message.eml");
			for (const tag of message.tags.slice(0, MAX_TAGS)) form.append("o:tag", tag);
			for (const [name, value] of Object.entries(message.metadata)) form.append(`v:${name}`, value);
			form.append("v:mq-message-id", message.id);

			const result = await call(
				context,
				`${base.url}/v3/${domain}/messages.mime`,
				{ method: "POST", headers: { authorization }, body: form },
				signal,
			);
			if (!result.ok) return forAll(envelope, networkFailure("mailgun", result.error, redact));
			const { answer } = result;
			if (answer.status >= 200 && answer.status < 300) {
				const body = jsonOf(answer.text) as { id?: unknown; message?: unknown } | undefined;
				const id = typeof body?.id === "string" ? body.id : null;
				return forAll(envelope, { status: "accepted", providerMessageId: id });
			}
			// A 404 names an unknown sending domain: the gateway's configuration, not the message.
			const kind = answer.status === 404 ? "auth" : undefined;
			return forAll(envelope, httpFailure("mailgun", answer, messageOf(answer.text), redact, kind));
		},
		check(signal) {
			return checkWith(
				context,
				"mailgun",
				`${base.url}/v4/domains/${domain}`,
				{ headers: { authorization } },
				signal,
				redact,
				(answer) => {
					const body = jsonOf(answer.text) as { domain?: { name?: unknown; state?: unknown } } | undefined;
					return `domain ${String(body?.domain?.name ?? config.domain)} is ${String(body?.domain?.state ?? "known")}`;
				},
				(answer) => messageOf(answer.text),
			);
		},
	};
	return gateway;
};
