// What every HTTP gateway shares: one timed call through the context's fetch, one classification of
// a provider's answer (DESIGN.md "Send consumer"), Retry-After parsing, base URL resolution, and the
// redaction that keeps credentials out of every text a user or a log can see.
import { z } from "zod";
import type {
	DeliveryFailureKind,
	DeliveryResult,
	DriverContext,
	Envelope,
	GatewayCheck,
	RecipientResult,
} from "./types";

/** Longest one provider API call may take (a send or a token exchange). */
export const PROVIDER_CALL_TIMEOUT_MS = 20_000;
/** Longest a credential check may take; it answers a person waiting on `POST /v1/gateways/{id}/test`. */
export const CHECK_TIMEOUT_MS = 10_000;
/** Longest provider text kept with a result. */
export const RESPONSE_TEXT_MAX = 300;
/** A provider asking for a longer pause than this is clamped, so one header cannot park mail for days. */
export const MAX_RETRY_AFTER_SECONDS = 3_600;

export type Failure = Exclude<RecipientResult, { status: "accepted" }>;
export type FailureWithoutEmail = Omit<Failure, "email">;

/** An optional provider endpoint override (regions, proxies, local test servers). */
export const baseUrlField = z.url({ protocol: /^https?$/ }).optional();

/** Local environments may point a gateway at an http:// test server; every other one needs TLS. */
export function resolveBaseUrl(
	configured: string | undefined,
	fallback: string,
	environment: DriverContext["environment"],
	field = "base_url",
): { url: string } | { error: string } {
	const raw = configured ?? fallback;
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		return { error: `config.${field} is not a URL` };
	}
	const local = environment === "development" || environment === "test";
	if (url.protocol !== "https:" && !(local && url.protocol === "http:")) {
		return { error: `config.${field} must be an https URL outside development` };
	}
	return { url: raw.replace(/\/+$/, "") };
}

/** Seconds from a Retry-After header (delta-seconds or HTTP-date), clamped to a sane range. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
	if (!header) return undefined;
	const trimmed = header.trim();
	let seconds: number;
	if (/^\d+$/.test(trimmed)) seconds = Number(trimmed);
	else {
		const at = Date.parse(trimmed);
		if (Number.isNaN(at)) return undefined;
		seconds = Math.ceil((at - now) / 1000);
	}
	return Math.min(Math.max(seconds, 1), MAX_RETRY_AFTER_SECONDS);
}

/**
 * Removes every credential (and the forms it travels in: base64 basic auth, URL encoding) from a
 * text, and caps its length. Built once per driver from its credentials.
 */
export function redactor(credentials: Record<string, unknown>): (text: string) => string {
	const secrets = new Set<string>();
	for (const value of Object.values(credentials)) {
		if (typeof value !== "string" || value.length < 4) continue;
		secrets.add(value);
		secrets.add(encodeURIComponent(value));
		for (const line of value.split(/\r?\n/)) if (line.trim().length >= 16) secrets.add(line.trim());
	}
	for (const value of [...secrets]) {
		try {
			secrets.add(btoa(`api:${value}`));
			secrets.add(btoa(value));
		} catch {
			// Not Latin-1: no base64 form of it can appear in a header.
		}
	}
	const ordered = [...secrets].sort((a, b) => b.length - a.length);
	return (text) => {
		let out = text;
		for (const secret of ordered) out = out.split(secret).join("[redacted]");
		out = out.replace(/\b(bearer|basic) [A-Za-z0-9._~+/=-]{20,}/gi, "$1 [redacted]");
		return out.length > RESPONSE_TEXT_MAX ? `${out.slice(0, RESPONSE_TEXT_MAX - 1)}…` : out;
	};
}

export type HttpAnswer = { status: number; headers: Headers; text: string };

/** One provider call: the caller's signal and a named timeout, network errors as values. */
export async function call(
	context: DriverContext,
	input: string | Request,
	init: RequestInit,
	signal: AbortSignal,
	timeoutMs = PROVIDER_CALL_TIMEOUT_MS,
): Promise<{ ok: true; answer: HttpAnswer } | { ok: false; error: string }> {
	// Detached, so a caller may pass the global fetch itself: workerd refuses it with another `this`.
	const fetchOnce = context.fetch;
	try {
		const response = await fetchOnce(input, {
			...init,
			redirect: "manual",
			signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
		});
		return { ok: true, answer: { status: response.status, headers: response.headers, text: await response.text() } };
	} catch (error) {
		const name = error instanceof Error ? error.name : "";
		if (name === "TimeoutError") return { ok: false, error: `no answer within ${timeoutMs} ms` };
		if (name === "AbortError") return { ok: false, error: "the attempt was aborted" };
		return { ok: false, error: `network error: ${error instanceof Error ? error.message : String(error)}` };
	}
}

/** The usual mapping from an HTTP status to a failure kind, before any provider-specific code. */
export function kindOfStatus(status: number): DeliveryFailureKind {
	if (status === 401 || status === 403) return "auth";
	if (status === 408 || status === 429 || status >= 500) return "temporary";
	return "permanent";
}

/** Parses JSON without throwing; providers sometimes answer errors as HTML or plain text. */
export function jsonOf(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

/** A failure from a non-2xx answer: `<label> <status>: <provider message>`, redacted and capped. */
export function httpFailure(
	label: string,
	answer: HttpAnswer,
	message: string,
	redact: (text: string) => string,
	kind: DeliveryFailureKind = kindOfStatus(answer.status),
): FailureWithoutEmail {
	const retryAfterSeconds = kind === "temporary" ? parseRetryAfter(answer.headers.get("retry-after")) : undefined;
	const text = message.trim() || answer.text.trim().slice(0, RESPONSE_TEXT_MAX) || "(no body)";
	return {
		status: kind,
		response: redact(`${label} ${answer.status}: ${text}`),
		...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
	};
}

export function networkFailure(label: string, error: string, redact: (text: string) => string): FailureWithoutEmail {
	return { status: "temporary", response: redact(`${label}: ${error}`) };
}

/** Runs a check with its own timeout and turns any answer into `{ ok, detail }`. */
export async function checkWith(
	context: DriverContext,
	label: string,
	url: string | Request,
	init: RequestInit,
	signal: AbortSignal,
	redact: (text: string) => string,
	describe: (answer: HttpAnswer) => string | null,
	errorMessage: (answer: HttpAnswer) => string,
	/** An error answer that still proves the credentials (e.g. a send-only key refused a read). */
	stillValid: (answer: HttpAnswer) => string | null = () => null,
): Promise<GatewayCheck> {
	const result = await call(context, url, init, signal, CHECK_TIMEOUT_MS);
	if (!result.ok) return { ok: false, detail: redact(`${label}: ${result.error}`) };
	const { answer } = result;
	const detail = answer.status >= 200 && answer.status < 300 ? describe(answer) : stillValid(answer);
	if (detail !== null) return { ok: true, detail: redact(detail) };
	return { ok: false, detail: httpFailure(label, answer, errorMessage(answer), redact).response };
}

/** A zod failure as one line that names the fields, never their values. */
export function describeZodError(prefix: string, error: z.ZodError): string {
	return error.issues
		.map((issue) => {
			const path = [prefix, ...issue.path.map(String)].join(".");
			return `${path}: ${issue.code === "unrecognized_keys" ? `unknown field(s) ${issue.keys.join(", ")}` : issue.message}`;
		})
		.join("; ");
}

/** Parses a gateway's config and credentials with its type's schemas, or says which field is wrong. */
export function parseSpec<C extends z.ZodType, K extends z.ZodType>(
	configSchema: C,
	credentialsSchema: K,
	spec: { config: unknown; credentials: unknown },
): { config: z.output<C>; credentials: z.output<K> } | { error: string } {
	const config = configSchema.safeParse(spec.config);
	if (!config.success) return { error: describeZodError("config", config.error) };
	const credentials = credentialsSchema.safeParse(spec.credentials);
	if (!credentials.success) return { error: describeZodError("credentials", credentials.error) };
	return { config: config.data, credentials: credentials.data };
}

export const basicAuth = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

/** One outcome for every envelope recipient (a provider that answers per call). */
export function forAll(
	envelope: Envelope,
	outcome: FailureWithoutEmail | { status: "accepted"; providerMessageId: string | null; response?: string },
): DeliveryResult {
	return { recipients: envelope.recipients.map((r): RecipientResult => ({ ...outcome, email: r.email })) };
}
