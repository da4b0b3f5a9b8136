// Amazon SNS HTTP(S) deliveries (docs.aws.amazon.com/sns "Verifying the signatures of Amazon SNS
// messages"): the signature (SignatureVersion 1 SHA1withRSA, 2 SHA256withRSA) over the message's
// fields is checked against the certificate at SigningCertURL, fetched only from an
// `https://sns.<region>.amazonaws.com/…pem` URL and cached; SubscriptionConfirmation is confirmed by
// a GET of its SubscribeURL, host-checked the same way.
import { z } from "zod";
import { ApiError, err, ok, type Result } from "../../errors";
import { fromBase64, utf8 } from "../../lib/encoding";
import { LruMap } from "../../lib/lru";
import { certificateSpki, pemToDer } from "./der";

/** Longest a certificate fetch or a subscription confirmation may take. */
export const SNS_FETCH_TIMEOUT_MS = 5_000;
const MAX_CACHED_CERTIFICATES = 32;

const snsSchema = z.object({
	Type: z.enum(["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"]),
	MessageId: z.string().min(1),
	TopicArn: z.string().min(1),
	Subject: z.string().optional(),
	Message: z.string(),
	Timestamp: z.string().min(1),
	SignatureVersion: z.enum(["1", "2"]),
	Signature: z.string().min(1),
	SigningCertURL: z.string().min(1),
	SubscribeURL: z.string().optional(),
	Token: z.string().optional(),
});

export type SnsMessage = z.infer<typeof snsSchema>;

export type SnsDeps = { fetch: typeof fetch };

const refused = (message: string) => new ApiError("unauthorized", message);

const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** True only for `https://sns.<region>.amazonaws.com[.cn]/…`, no port, no credentials. */
export function isSnsUrl(value: string, pathSuffix?: string): boolean {
	let url: URL;
	try {
		url = new URL(value);
	} catch {
		return false;
	}
	return (
		url.protocol === "https:" &&
		SNS_HOST.test(url.hostname) &&
		url.port === "" &&
		url.username === "" &&
		url.password === "" &&
		(pathSuffix === undefined || url.pathname.endsWith(pathSuffix))
	);
}

/** The fields each message type signs, in this order, each as `Name\nvalue\n`. */
function stringToSign(m: SnsMessage): string {
	const fields: (keyof SnsMessage)[] =
		m.Type === "Notification"
			? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
			: ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
	let text = "";
	for (const field of fields) {
		const value = m[field];
		if (value !== undefined) text += `${field}\n${value}\n`;
	}
	return text;
}

// Certificates are few (one per region and rotation) and immutable at their URL, so they are kept
// for the isolate's life; a failed fetch is not kept.
const certificates = new LruMap<string, Promise<Uint8Array | null>>(MAX_CACHED_CERTIFICATES);

async function fetchSpki(url: string, deps: SnsDeps): Promise<Uint8Array | null> {
	const response = await deps.fetch(url, { signal: AbortSignal.timeout(SNS_FETCH_TIMEOUT_MS), redirect: "manual" });
	if (!response.ok) return null;
	const der = pemToDer(await response.text());
	return der ? certificateSpki(der) : null;
}

function signingSpki(url: string, deps: SnsDeps): Promise<Uint8Array | null> {
	let spki = certificates.get(url);
	if (!spki) {
		spki = fetchSpki(url, deps)
			.catch(() => null)
			.then((value) => {
				if (value === null) certificates.delete(url);
				return value;
			});
		certificates.set(url, spki);
	}
	return spki;
}

/** Parses and verifies an SNS delivery; `topicArn`, when set, is the only topic accepted. */
export async function verifySns(body: string, deps: SnsDeps, topicArn?: string): Promise<Result<SnsMessage>> {
	let json: unknown;
	try {
		json = JSON.parse(body);
	} catch {
		return err(refused("The body is not a signed SNS message."));
	}
	const parsed = snsSchema.safeParse(json);
	if (!parsed.success) return err(refused("The body is not a signed SNS message."));
	const message = parsed.data;
	if (!isSnsUrl(message.SigningCertURL, ".pem")) {
		return err(refused("The SNS SigningCertURL is not an https://sns.<region>.amazonaws.com certificate."));
	}
	if (topicArn !== undefined && message.TopicArn !== topicArn) {
		return err(refused("The SNS topic is not the one configured for this gateway."));
	}
	const spki = await signingSpki(message.SigningCertURL, deps);
	if (!spki) return err(new ApiError("service_unavailable", "The SNS signing certificate could not be fetched."));
	let valid = false;
	try {
		const hash = message.SignatureVersion === "1" ? "SHA-1" : "SHA-256";
		const key = await crypto.subtle.importKey("spki", spki, { name: "RSASSA-PKCS1-v1_5", hash }, false, ["verify"]);
		valid = await crypto.subtle.verify(
			"RSASSA-PKCS1-v1_5",
			key,
			fromBase64(message.Signature),
			utf8.encode(stringToSign(message)),
		);
	} catch {
		valid = false;
	}
	return valid ? ok(message) : err(refused("The SNS signature does not match."));
}

/** Confirms a subscription by visiting its SubscribeURL, which must be an SNS URL itself. */
export async function confirmSubscription(message: SnsMessage, deps: SnsDeps): Promise<Result<true>> {
	const url = message.SubscribeURL;
	if (!url || !isSnsUrl(url)) {
		return err(new ApiError("validation_error", "The SubscribeURL is not an https://sns.<region>.amazonaws.com URL."));
	}
	try {
		const response = await deps.fetch(url, { signal: AbortSignal.timeout(SNS_FETCH_TIMEOUT_MS), redirect: "manual" });
		await response.body?.cancel();
		if (response.ok) return ok(true);
	} catch {
		// A timeout or network failure: SNS sends the confirmation again, so 503 lets it retry.
	}
	return err(new ApiError("service_unavailable", "SNS did not confirm the subscription; it will be retried."));
}
