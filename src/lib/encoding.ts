// Byte encodings the relay's ids, keys and signatures use.

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Crockford base32 of the bytes, most significant bit first, without padding. */
export function base32(bytes: Uint8Array): string {
	let out = "";
	let buffer = 0;
	let bits = 0;
	for (const byte of bytes) {
		buffer = (buffer << 8) | byte;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out += CROCKFORD[(buffer >> bits) & 31];
		}
	}
	if (bits > 0) out += CROCKFORD[(buffer << (5 - bits)) & 31];
	return out;
}

export function hex(bytes: ArrayBuffer | Uint8Array): string {
	const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
	let out = "";
	for (const byte of view) out += byte.toString(16).padStart(2, "0");
	return out;
}

export function base64url(bytes: Uint8Array): string {
	return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64(text: string): Uint8Array {
	const normalized = text.replace(/-/g, "+").replace(/_/g, "/");
	const binary = atob(normalized + "=".repeat((4 - (normalized.length % 4)) % 4));
	return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export function toBase64(bytes: Uint8Array): string {
	let binary = "";
	for (const byte of bytes) binary += String.fromCharCode(byte);
	return btoa(binary);
}

export const utf8 = new TextEncoder();

/** UTF-8 size of `text`, counted without encoding it. */
export function utf8Length(text: string): number {
	let bytes = 0;
	for (let i = 0; i < text.length; i++) {
		const unit = text.charCodeAt(i);
		// A surrogate half is 2 of a pair's 4 bytes.
		bytes += unit < 0x80 ? 1 : unit < 0x800 ? 2 : unit >= 0xd800 && unit <= 0xdfff ? 2 : 3;
	}
	return bytes;
}
