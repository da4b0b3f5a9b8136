// Just enough DER (X.690) for provider webhooks: WebCrypto wants an ECDSA signature as raw r‖s while
// SendGrid sends it DER-encoded, and it imports a public key only as SubjectPublicKeyInfo while SNS
// hands out an X.509 certificate, whose SPKI is read out of the TBSCertificate here.

type Element = { tag: number; start: number; contentStart: number; end: number };

/** The element at `offset`, or null when the bytes do not hold a whole one. */
function readElement(bytes: Uint8Array, offset: number): Element | null {
	const tag = bytes[offset];
	let length = bytes[offset + 1];
	if (tag === undefined || length === undefined) return null;
	let contentStart = offset + 2;
	if (length & 0x80) {
		const count = length & 0x7f;
		if (count === 0 || count > 4) return null;
		length = 0;
		for (let i = 0; i < count; i++) {
			const byte = bytes[contentStart + i];
			if (byte === undefined) return null;
			length = length * 256 + byte;
		}
		contentStart += count;
	}
	const end = contentStart + length;
	return end <= bytes.length ? { tag, start: offset, contentStart, end } : null;
}

/** The elements inside a constructed element. */
function children(bytes: Uint8Array, parent: Element): Element[] | null {
	const out: Element[] = [];
	let offset = parent.contentStart;
	while (offset < parent.end) {
		const child = readElement(bytes, offset);
		if (!child || child.end > parent.end) return null;
		out.push(child);
		offset = child.end;
	}
	return out;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const CONTEXT_0 = 0xa0;

/** `SEQUENCE { INTEGER r, INTEGER s }` → r‖s, each left-padded to `size` bytes; null if malformed. */
export function derSignatureToRaw(der: Uint8Array, size: number): Uint8Array | null {
	const outer = readElement(der, 0);
	if (!outer || outer.tag !== SEQUENCE || outer.end !== der.length) return null;
	const parts = children(der, outer);
	if (!parts || parts.length !== 2) return null;
	const raw = new Uint8Array(size * 2);
	for (const [index, part] of parts.entries()) {
		if (part.tag !== INTEGER) return null;
		let value = der.subarray(part.contentStart, part.end);
		while (value.length > size && value[0] === 0) value = value.subarray(1);
		if (value.length > size) return null;
		raw.set(value, size * (index + 1) - value.length);
	}
	return raw;
}

/** The DER bytes of a PEM block (the first one of `label`), or null. */
export function pemToDer(pem: string, label = "CERTIFICATE"): Uint8Array | null {
	const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
	if (!match?.[1]) return null;
	try {
		const binary = atob(match[1].replace(/\s/g, ""));
		return Uint8Array.from(binary, (c) => c.charCodeAt(0));
	} catch {
		return null;
	}
}

/**
 * The SubjectPublicKeyInfo of an X.509 certificate: Certificate → TBSCertificate → [version],
 * serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo.
 */
export function certificateSpki(der: Uint8Array): Uint8Array | null {
	const certificate = readElement(der, 0);
	if (!certificate || certificate.tag !== SEQUENCE) return null;
	const tbs = children(der, certificate)?.[0];
	if (!tbs || tbs.tag !== SEQUENCE) return null;
	const fields = children(der, tbs);
	if (!fields) return null;
	const skip = fields[0]?.tag === CONTEXT_0 ? 1 : 0;
	const spki = fields[skip + 5];
	if (!spki || spki.tag !== SEQUENCE) return null;
	return der.slice(spki.start, spki.end);
}
