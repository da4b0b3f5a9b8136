// WebCrypto helpers: hashing, HMAC tags and AES-256-GCM sealing of secrets at rest.
import { base64url, fromBase64, hex, toBase64, utf8 } from "./encoding";

export async function sha256Hex(text: string): Promise<string> {
	return hex(await crypto.subtle.digest("SHA-256", utf8.encode(text)));
}

// Importing a key costs more than the HMAC itself; keys are derived from long-lived secrets,
// so they are cached for the isolate's life.
const hmacKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
	let key = hmacKeys.get(secret);
	if (!key) {
		key = crypto.subtle.importKey("raw", utf8.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
		hmacKeys.set(secret, key);
	}
	return key;
}

export async function hmacSha256(secret: string, message: string): Promise<Uint8Array> {
	return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), utf8.encode(message)));
}

/** Constant-time comparison of two strings of possibly different length. */
export function timingSafeEqual(a: string, b: string): boolean {
	const left = utf8.encode(a);
	const right = utf8.encode(b);
	let diff = left.length ^ right.length;
	for (let i = 0; i < Math.max(left.length, right.length); i++) diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
	return diff === 0;
}

export function randomBytes(length: number): Uint8Array {
	return crypto.getRandomValues(new Uint8Array(length));
}

export function randomToken(bytes = 24): string {
	return base64url(randomBytes(bytes));
}

const aesKeys = new Map<string, Promise<CryptoKey>>();

function aesKey(keyBase64: string): Promise<CryptoKey> {
	let key = aesKeys.get(keyBase64);
	if (!key) {
		key = crypto.subtle.importKey("raw", fromBase64(keyBase64), "AES-GCM", false, ["encrypt", "decrypt"]);
		aesKeys.set(keyBase64, key);
	}
	return key;
}

/** Seals a secret (gateway credentials, SMTP passwords) as `v1.<iv>.<ciphertext>` in base64. */
export async function encryptSecret(keyBase64: string, plaintext: string): Promise<string> {
	const iv = randomBytes(12);
	const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await aesKey(keyBase64), utf8.encode(plaintext));
	return `v1.${toBase64(iv)}.${toBase64(new Uint8Array(sealed))}`;
}

export async function decryptSecret(keyBase64: string, sealed: string): Promise<string> {
	const [version, iv, body] = sealed.split(".");
	if (version !== "v1" || !iv || !body) throw new Error("unknown sealed secret format");
	const plain = await crypto.subtle.decrypt(
		{ name: "AES-GCM", iv: fromBase64(iv) },
		await aesKey(keyBase64),
		fromBase64(body),
	);
	return new TextDecoder().decode(plain);
}
