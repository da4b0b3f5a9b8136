// Cloudflare Email Service, the platform's own sender. `binding` mode hands the rendered MIME to the
// Worker's send_email binding once per envelope recipient (an EmailMessage has one recipient);
// `rest` mode posts it to `/accounts/{account_id}/email/sending/send_raw` with the envelope, whose
// `delivered` / `queued` / `permanent_bounces` lists answer per recipient.
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
import type { DriverContext, DriverFactory, Gateway, RecipientResult } from "./types";

export const CLOUDFLARE_API_BASE = "https://api.cloudflare.com/client/v4";

export const cloudflareConfig = z
	.strictObject({
		mode: z.enum(["binding", "rest"]),
		account_id: z
			.string()
			.regex(/^[0-9a-f]{32}$/, "must be a 32-character Cloudflare account id")
			.optional(),
		base_url: baseUrlField,
	})
	.refine((c) => c.mode !== "rest" || c.account_id !== undefined, {
		path: ["account_id"],
		message: "is required in rest mode",
	});
export const cloudflareCredentials = z.strictObject({ api_token: z.string().min(1).optional() });

type CloudflareEnvelope = {
	success?: unknown;
	errors?: { code?: unknown; message?: unknown }[];
	result?: { delivered?: unknown; queued?: unknown; permanent_bounces?: unknown };
};

const errorText = (text: string) => {
	const body = jsonOf(text) as CloudflareEnvelope | undefined;
	if (!Array.isArray(body?.errors) || body.errors.length === 0) return text;
	return body.errors.map((e) => `${String(e.code)} ${String(e.message)}`).join("; ");
};

const asList = (value: unknown) =>
	new Set(Array.isArray(value) ? value.filter((v) => typeof v === "string").map((v) => v.toLowerCase()) : []);

/** `cloudflare:email` exists only in workerd; loading it lazily keeps this module importable anywhere. */
async function emailMessage(from: string, to: string, raw: string): Promise<EmailMessage> {
	const { EmailMessage } = await import("cloudflare:email");
	return new EmailMessage(from, to, raw);
}

function bindingGateway(id: string, binding: SendEmail): Gateway {
	return {
		id,
		type: "cloudflare",
		async send(message, envelope) {
			const recipients: RecipientResult[] = [];
			for (const r of envelope.recipients) {
				try {
					const sent = await binding.send(await emailMessage(envelope.from, r.email, message.raw));
					recipients.push({ email: r.email, status: "accepted", providerMessageId: sent.messageId ?? null });
				} catch (error) {
					// The binding throws for a destination or sender it refuses; that is this recipient's answer.
					const text = error instanceof Error ? error.message : String(error);
					recipients.push({
						email: r.email,
						status: "permanent",
						response: `cloudflare binding: ${text}`.slice(0, 300),
					});
				}
			}
			return { recipients };
		},
		async check() {
			return { ok: true, detail: "the send_email binding is configured" };
		},
	};
}

export const createCloudflareGateway: DriverFactory = (spec, context: DriverContext) => {
	const parsed = parseSpec(cloudflareConfig, cloudflareCredentials, spec);
	if ("error" in parsed) return parsed;
	const { config, credentials } = parsed;
	if (config.mode === "binding") {
		if (!context.email) return { error: "config.mode is binding but this Worker has no send_email binding" };
		return bindingGateway(spec.id, context.email);
	}
	if (!credentials.api_token) return { error: "credentials.api_token: is required in rest mode" };
	const base = resolveBaseUrl(config.base_url, CLOUDFLARE_API_BASE, context.environment);
	if ("error" in base) return base;
	const redact = redactor(credentials);
	const authorization = `Bearer ${credentials.api_token}`;
	const account = encodeURIComponent(config.account_id ?? "");

	const gateway: Gateway = {
		id: spec.id,
		type: "cloudflare",
		async send(message, envelope, signal) {
			const result = await call(
				context,
				`${base.url}/accounts/${account}/email/sending/send_raw`,
				{
					method: "POST",
					headers: { authorization, "content-type": "application/json" },
					body: JSON.stringify({
						from: envelope.from,
						recipients: envelope.recipients.map((r) => r.email),
						mime_message: message.raw,
					}),
				},
				signal,
			);
			if (!result.ok) return forAll(envelope, networkFailure("cloudflare", result.error, redact));
			const { answer } = result;
			const body = jsonOf(answer.text) as CloudflareEnvelope | undefined;
			if (answer.status < 200 || answer.status >= 300 || body?.success === false) {
				return forAll(envelope, httpFailure("cloudflare", answer, errorText(answer.text), redact));
			}
			const delivered = asList(body?.result?.delivered);
			const queued = asList(body?.result?.queued);
			const bounced = asList(body?.result?.permanent_bounces);
			return {
				recipients: envelope.recipients.map((r): RecipientResult => {
					const email = r.email.toLowerCase();
					if (delivered.has(email) || queued.has(email)) {
						const how = delivered.has(email) ? "delivered" : "queued";
						return { email: r.email, status: "accepted", providerMessageId: null, response: `cloudflare: ${how}` };
					}
					if (bounced.has(email)) {
						return { email: r.email, status: "permanent", response: "cloudflare: permanent bounce" };
					}
					// Not named in any list: nothing says it left, so it is tried again.
					return { email: r.email, status: "temporary", response: "cloudflare: recipient missing from the answer" };
				}),
			};
		},
		check(signal) {
			return checkWith(
				context,
				"cloudflare",
				`${base.url}/accounts/${account}/tokens/verify`,
				{ headers: { authorization } },
				signal,
				redact,
				(answer) => {
					const status = (jsonOf(answer.text) as { result?: { status?: unknown } } | undefined)?.result?.status;
					return status === "active" ? "the API token is active" : null;
				},
				(answer) => (answer.status < 300 ? "the API token is not active" : errorText(answer.text)),
			);
		},
	};
	return gateway;
};
