// Signed, expiring download links for the attachments of stored inbound mail
// (`GET /v1/inbound/attachments/<token>`): the token is the credential, an HMAC over the inbound
// id, the attachment's index and the expiry, so a link cannot be altered or outlive its time.
import { hmacSha256, timingSafeEqual } from "../../lib/crypto";
import { base64url } from "../../lib/encoding";
import { HOUR } from "../../lib/time";

/** How long a link in an inbound webhook stays valid. */
export const ATTACHMENT_LINK_TTL_MS = 24 * HOUR;

export type AttachmentRef = { inboundId: string; index: number };

async function signature(signingKey: string, ref: AttachmentRef, expiresSec: number): Promise<string> {
	const mac = await hmacSha256(signingKey, `inbound-attachment:${ref.inboundId}:${ref.index}:${expiresSec}`);
	return base64url(mac).slice(0, 32);
}

export async function attachmentToken(signingKey: string, ref: AttachmentRef, expiresAt: number): Promise<string> {
	const expiresSec = Math.floor(expiresAt / 1000);
	return `${ref.inboundId}.${ref.index}.${expiresSec}.${await signature(signingKey, ref, expiresSec)}`;
}

export type LinkCheck = { ok: true; ref: AttachmentRef } | { ok: false; problem: "invalid" | "expired" };

export async function verifyAttachmentToken(signingKey: string, token: string, now: number): Promise<LinkCheck> {
	const parts = token.split(".");
	const [inboundId, indexText, expiresText, given] = parts;
	if (parts.length !== 4 || !inboundId || !indexText || !expiresText || !given)
		return { ok: false, problem: "invalid" };
	if (!/^inb_[0-9a-z]{26}$/.test(inboundId) || !/^\d{1,4}$/.test(indexText) || !/^\d{1,12}$/.test(expiresText)) {
		return { ok: false, problem: "invalid" };
	}
	const ref = { inboundId, index: Number(indexText) };
	const expiresSec = Number(expiresText);
	if (!timingSafeEqual(given, await signature(signingKey, ref, expiresSec))) return { ok: false, problem: "invalid" };
	if (expiresSec * 1000 < now) return { ok: false, problem: "expired" };
	return { ok: true, ref };
}
