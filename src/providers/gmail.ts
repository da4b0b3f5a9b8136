// Gmail API with a service account and domain-wide delegation: an RS256 JWT (jose) signed with the
// account's key is exchanged at the token URL for an access token, cached in the isolate until shortly
// before it expires, then the rendered MIME is uploaded to `users.messages.send` as the delegated user.
//
// Gmail takes its recipients from the message headers, not from an envelope: envelope recipients
// missing from To/Cc are added as a Bcc header (Gmail strips it before delivery), and an attempt
// cannot be narrowed to fewer recipients than the To/Cc headers name.
import { importPKCS8, SignJWT } from "jose";
import { z } from "zod";
import { sha256Hex } from "../lib/crypto";
import {
	baseUrlField,
	call,
	type FailureWithoutEmail,
	forAll,
	httpFailure,
	jsonOf,
	kindOfStatus,
	networkFailure,
	parseSpec,
	redactor,
	resolveBaseUrl,
} from "./http";
import type { DeliveryFailureKind, DriverFactory, Gateway, GatewayCheck } from "./types";

export const GMAIL_BASE_URL = "https://gmail.googleapis.com";
export const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";
export const GMAIL_SEND_SCOPE = "https://www.googleapis.com/auth/gmail.send";
/** Lifetime asked for in the JWT; Google's maximum. */
const ASSERTION_LIFETIME_SECONDS = 3_600;
/** A cached token is dropped this long before Google's expiry, so no call carries a dying token. */
const TOKEN_EXPIRY_MARGIN_MS = 60_000;

export const gmailConfig = z.strictObject({
	delegated_user: z.email(),
	base_url: baseUrlField,
	token_url: baseUrlField,
});
export const gmailCredentials = z.strictObject({
	client_email: z.email(),
	private_key: z.string().includes("PRIVATE KEY", { message: "must be the service account's PEM private key" }),
});

type CachedToken = { token: string; expiresAt: number };
// Per isolate: tokens are per service account, user and token URL (the cache key hashes all three
// with the key itself, so a rotated key never reuses a token minted for the old one).
const tokens = new Map<string, CachedToken>();

/** Test hook: forget every cached token. */
export function forgetGmailTokens(): void {
	tokens.clear();
}

// Google reports rate limits on 403 as well as 429; the reason says which.
const RATE_REASONS = new Set(["rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded", "quotaExceeded"]);

function googleError(text: string): { message: string; reason?: string } {
	const body = jsonOf(text) as
		| { error?: { message?: unknown; errors?: { reason?: unknown }[] } | string; error_description?: unknown }
		| undefined;
	if (typeof body?.error === "string") {
		// The OAuth token endpoint: `{ "error": "invalid_grant", "error_description": "..." }`.
		return { message: `${body.error}: ${String(body.error_description ?? "")}` };
	}
	const reason = body?.error?.errors?.[0]?.reason;
	return {
		message: String(body?.error?.message ?? text),
		...(typeof reason === "string" ? { reason } : {}),
	};
}

export const createGmailGateway: DriverFactory = (spec, context) => {
	const parsed = parseSpec(gmailConfig, gmailCredentials, spec);
	if ("error" in parsed) return parsed;
	const { config, credentials } = parsed;
	const base = resolveBaseUrl(config.base_url, GMAIL_BASE_URL, context.environment);
	if ("error" in base) return base;
	const tokenUrl = resolveBaseUrl(config.token_url, GOOGLE_TOKEN_URL, context.environment, "token_url");
	if ("error" in tokenUrl) return tokenUrl;
	const tokenEndpoint = tokenUrl.url;
	// Keys pasted from the JSON file sometimes keep their escaped newlines.
	const pem = credentials.private_key.replace(/\\n/g, "\n");
	const redact = redactor({ ...credentials, pem });
	const cacheKey = sha256Hex(`${credentials.client_email}\n${config.delegated_user}\n${tokenEndpoint}\n${pem}`);

	async function accessToken(signal: AbortSignal): Promise<{ token: string } | { failure: FailureWithoutEmail }> {
		const key = await cacheKey;
		const cached = tokens.get(key);
		if (cached && cached.expiresAt > Date.now()) return { token: cached.token };
		let assertion: string;
		try {
			const now = Math.floor(Date.now() / 1000);
			assertion = await new SignJWT({ scope: GMAIL_SEND_SCOPE })
				.setProtectedHeader({ alg: "RS256", typ: "JWT" })
				.setIssuer(credentials.client_email)
				.setSubject(config.delegated_user)
				.setAudience(tokenEndpoint)
				.setIssuedAt(now)
				.setExpirationTime(now + ASSERTION_LIFETIME_SECONDS)
				.sign(await importPKCS8(pem, "RS256"));
		} catch {
			return {
				failure: { status: "auth", response: "gmail: the service account private key cannot sign (not PKCS#8 RSA)" },
			};
		}
		const result = await call(
			context,
			tokenEndpoint,
			{
				method: "POST",
				headers: { "content-type": "application/x-www-form-urlencoded" },
				body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }),
			},
			signal,
		);
		if (!result.ok) return { failure: networkFailure("gmail token", result.error, redact) };
		const { answer } = result;
		const body = jsonOf(answer.text) as { access_token?: unknown; expires_in?: unknown } | undefined;
		if (answer.status >= 200 && answer.status < 300 && typeof body?.access_token === "string") {
			const lifetime = typeof body.expires_in === "number" ? body.expires_in : ASSERTION_LIFETIME_SECONDS;
			tokens.set(key, { token: body.access_token, expiresAt: Date.now() + lifetime * 1000 - TOKEN_EXPIRY_MARGIN_MS });
			return { token: body.access_token };
		}
		// The token endpoint answers a bad key or a missing delegation as 400/401 invalid_grant: auth.
		const kind: DeliveryFailureKind = answer.status === 429 || answer.status >= 500 ? "temporary" : "auth";
		return { failure: httpFailure("gmail token", answer, googleError(answer.text).message, redact, kind) };
	}

	const gateway: Gateway = {
		id: spec.id,
		type: "gmail",
		async send(message, envelope, signal) {
			const token = await accessToken(signal);
			if ("failure" in token) return forAll(envelope, token.failure);
			const inHeaders = new Set([...message.to, ...message.cc].map((m) => m.email.toLowerCase()));
			const hidden = envelope.recipients.filter((r) => !inHeaders.has(r.email.toLowerCase())).map((r) => r.email);
			const raw = hidden.length > 0 ? `Bcc: ${hidden.join(", ")}\r\n${message.raw}` : message.raw;
			const user = encodeURIComponent(config.delegated_user);
			const result = await call(
				context,
				`${base.url}/upload/gmail/v1/users/${user}/messages/send?uploadType=media`,
				{
					method: "POST",
					headers: { authorization: `Bearer ${token.token}`, "content-type": "message/rfc822" },
					body: raw,
				},
				signal,
			);
			if (!result.ok) return forAll(envelope, networkFailure("gmail", result.error, redact));
			const { answer } = result;
			if (answer.status >= 200 && answer.status < 300) {
				const id = (jsonOf(answer.text) as { id?: unknown } | undefined)?.id;
				return forAll(envelope, { status: "accepted", providerMessageId: typeof id === "string" ? id : null });
			}
			const error = googleError(answer.text);
			if (answer.status === 401) tokens.delete(await cacheKey);
			const kind = error.reason && RATE_REASONS.has(error.reason) ? "temporary" : kindOfStatus(answer.status);
			const text = error.reason ? `${error.reason}: ${error.message}` : error.message;
			return forAll(envelope, httpFailure("gmail", answer, text, redact, kind));
		},
		async check(signal): Promise<GatewayCheck> {
			const token = await accessToken(signal);
			if ("failure" in token) return { ok: false, detail: token.failure.response };
			return { ok: true, detail: `token issued for ${config.delegated_user}` };
		},
	};
	return gateway;
};
