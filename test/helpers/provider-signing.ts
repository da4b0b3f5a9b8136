// Signs provider webhooks as each provider does (Mailgun HMAC, SendGrid ECDSA with a DER signature,
// SNS RSA with the fixture certificate, Svix HMAC, Postmark basic auth), written independently of
// src/domain/provider-events so a test proves the verifier against the wire format, not itself.
import { vi } from "vitest";
import snsCertificate from "../fixtures/sns/signing-cert.pem?raw";
import snsKey from "../fixtures/sns/signing-key.pem?raw";

const encoder = new TextEncoder();

const b64 = (bytes: ArrayBuffer | Uint8Array) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
const unb64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const hexOf = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

async function hmac(key: Uint8Array, text: string): Promise<ArrayBuffer> {
	const imported = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	return crypto.subtle.sign("HMAC", imported, encoder.encode(text));
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A Mailgun webhook body: `signature` over timestamp + token, and the event data. */
export async function mailgunBody(
	signingKey: string,
	eventData: Record<string, unknown>,
	options: { timestamp?: number; token?: string } = {},
): Promise<string> {
	const timestamp = String(options.timestamp ?? nowSeconds());
	const token = options.token ?? hexOf(crypto.getRandomValues(new Uint8Array(25)).buffer);
	const signature = hexOf(await hmac(encoder.encode(signingKey), timestamp + token));
	return JSON.stringify({ signature: { timestamp, token, signature }, "event-data": eventData });
}

/** INTEGER content of an unsigned big-endian number: leading zeros trimmed, a 0 added if the top bit is set. */
function derInteger(bytes: Uint8Array): number[] {
	let start = 0;
	while (start < bytes.length - 1 && bytes[start] === 0) start++;
	const value = [...bytes.subarray(start)];
	if ((value[0] ?? 0) & 0x80) value.unshift(0);
	return [0x02, value.length, ...value];
}

/** SendGrid's key pair: the public key as the dashboard shows it, and a signer of timestamp + body. */
export async function sendgridKeys() {
	const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
		"sign",
		"verify",
	])) as CryptoKeyPair;
	const publicKey = b64((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
	async function sign(timestamp: string, body: string): Promise<string> {
		const raw = new Uint8Array(
			await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, encoder.encode(timestamp + body)),
		);
		const content = [...derInteger(raw.subarray(0, 32)), ...derInteger(raw.subarray(32))];
		return b64(new Uint8Array([0x30, content.length, ...content]));
	}
	async function headers(body: string, timestamp = String(nowSeconds())): Promise<Record<string, string>> {
		return {
			"content-type": "application/json",
			"x-twilio-email-event-webhook-timestamp": timestamp,
			"x-twilio-email-event-webhook-signature": await sign(timestamp, body),
		};
	}
	return { publicKey, sign, headers };
}

/** A Resend (Svix) secret and the headers that sign a body with it. */
export function svixSecret(): string {
	return `whsec_${b64(crypto.getRandomValues(new Uint8Array(24)))}`;
}

export async function svixHeaders(
	secret: string,
	body: string,
	options: { id?: string; timestamp?: number } = {},
): Promise<Record<string, string>> {
	const id = options.id ?? `msg_${crypto.randomUUID()}`;
	const timestamp = String(options.timestamp ?? nowSeconds());
	const signature = b64(await hmac(unb64(secret.slice("whsec_".length)), `${id}.${timestamp}.${body}`));
	return {
		"content-type": "application/json",
		"svix-id": id,
		"svix-timestamp": timestamp,
		"svix-signature": `v1,${b64(crypto.getRandomValues(new Uint8Array(32)))} v1,${signature}`,
	};
}

export function basicAuth(username: string, password: string): string {
	return `Basic ${btoa(`${username}:${password}`)}`;
}

export const SNS_CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000test.pem";
export const SNS_CERTIFICATE = snsCertificate;

type SnsFields = {
	Type: "Notification" | "SubscriptionConfirmation" | "UnsubscribeConfirmation";
	Message: string;
	TopicArn?: string;
	Subject?: string;
	SubscribeURL?: string;
	Token?: string;
	MessageId?: string;
	SigningCertURL?: string;
};

async function snsSigningKey(hash: "SHA-1" | "SHA-256"): Promise<CryptoKey> {
	const body = snsKey.replace(/-----[A-Z ]+-----|\s/g, "");
	return crypto.subtle.importKey("pkcs8", unb64(body), { name: "RSASSA-PKCS1-v1_5", hash }, false, ["sign"]);
}

/** An SNS HTTP delivery body, signed with the fixture key as SignatureVersion 1 or 2. */
export async function snsBody(fields: SnsFields, version: "1" | "2" = "2"): Promise<string> {
	const message: Record<string, string> = {
		Type: fields.Type,
		MessageId: fields.MessageId ?? crypto.randomUUID(),
		TopicArn: fields.TopicArn ?? "arn:aws:sns:us-east-1:123456789012:ses-events",
		...(fields.Subject !== undefined ? { Subject: fields.Subject } : {}),
		Message: fields.Message,
		Timestamp: new Date().toISOString(),
		...(fields.SubscribeURL !== undefined ? { SubscribeURL: fields.SubscribeURL } : {}),
		...(fields.Token !== undefined ? { Token: fields.Token } : {}),
		SignatureVersion: version,
		SigningCertURL: fields.SigningCertURL ?? SNS_CERT_URL,
	};
	const order =
		fields.Type === "Notification"
			? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
			: ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
	const text = order
		.filter((name) => message[name] !== undefined)
		.map((name) => `${name}\n${message[name]}\n`)
		.join("");
	const key = await snsSigningKey(version === "1" ? "SHA-1" : "SHA-256");
	message.Signature = b64(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, encoder.encode(text)));
	return JSON.stringify(message);
}

/**
 * Intercepts the Worker's outbound fetch: the SNS certificate URL answers the fixture certificate,
 * SubscribeURLs answer 200, anything else fails the test. Returns the URLs fetched.
 */
export function interceptSns(): { fetched: string[] } {
	const fetched: string[] = [];
	vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL) => {
		const url = input instanceof Request ? input.url : String(input);
		fetched.push(url);
		if (url === SNS_CERT_URL) return new Response(SNS_CERTIFICATE, { status: 200 });
		if (url.startsWith("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription")) {
			return new Response("<ConfirmSubscriptionResponse/>", { status: 200 });
		}
		throw new Error(`unexpected outbound request to ${url}`);
	});
	return { fetched };
}
