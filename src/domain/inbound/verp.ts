// VERP bounce addresses (docs/inbound.md "Bounce addresses (VERP)"): `bounces+<token>@<bounce domain>`,
// where the token is our message id, a hash of the recipient (single-recipient messages) and an HMAC.
import { domainOf } from "../../lib/address";
import { hmacSha256, timingSafeEqual } from "../../lib/crypto";
import { base32, utf8 } from "../../lib/encoding";
import { MESSAGE_ID_LENGTH } from "../../lib/ids";

export type VerpConfig = {
	signingKey: string;
	/** One bounce domain for every sending domain (development and tests); unset: `bounces.<domain>`. */
	bounceDomain?: string | undefined;
};

export const VERP_LOCAL_PREFIX = "bounces+";
const RECIPIENT_HASH_LENGTH = 6;
const TAG_LENGTH = 10;

/** What a verified token names. `recipientHash` is null for a message-level token (several recipients). */
export type VerpToken = { messageId: string; recipientHash: string | null };

/** 30 bits of SHA-256 of the lower-cased address, in Crockford base32: enough to pick one of a message's recipients. */
export async function recipientHash(email: string): Promise<string> {
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(email.toLowerCase())));
	return base32(digest).slice(0, RECIPIENT_HASH_LENGTH);
}

async function tag(signingKey: string, messageId: string, hash: string): Promise<string> {
	return base32(await hmacSha256(signingKey, `verp:${messageId}:${hash}`)).slice(0, TAG_LENGTH);
}

export function bounceDomainFor(config: VerpConfig, fromEmail: string): string {
	return config.bounceDomain ?? `bounces.${domainOf(fromEmail)}`;
}

/** True for a domain mail to which may be a bounce or a feedback-loop report. */
export function isBounceDomain(config: VerpConfig, domain: string): boolean {
	const d = domain.toLowerCase();
	return d === config.bounceDomain?.toLowerCase() || (d.startsWith("bounces.") && d.length > "bounces.".length);
}

export type ReturnPathInput = {
	messageId: string;
	fromEmail: string;
	/** Every envelope recipient of the message (to, cc, bcc), not just this attempt's. */
	messageRecipients: readonly string[];
	recipient: string;
};

/**
 * The Return-Path of `recipient`'s copy. A message with one recipient gets a token naming that
 * recipient; a message with several shares one message-level token (they travel in one SMTP
 * transaction), and its bounce's Final-Recipient must then be one of the message's recipients.
 */
export async function returnPathFor(config: VerpConfig, input: ReturnPathInput): Promise<string> {
	const unique = new Set(input.messageRecipients.map((e) => e.toLowerCase()));
	const hash = unique.size === 1 ? await recipientHash(input.recipient) : "";
	const id = input.messageId.toLowerCase();
	const token = `${id}${hash.toLowerCase()}${(await tag(config.signingKey, input.messageId, hash)).toLowerCase()}`;
	return `${VERP_LOCAL_PREFIX}${token}@${bounceDomainFor(config, input.fromEmail)}`;
}

/** The token of a `bounces+…` local part, verified; null when it is not one or its HMAC is wrong. */
export async function verifyVerpLocalPart(signingKey: string, localPart: string): Promise<VerpToken | null> {
	if (!localPart.toLowerCase().startsWith(VERP_LOCAL_PREFIX)) return null;
	// Local parts are case-insensitive in practice (some MTAs fold them); the token is base32.
	const token = localPart.slice(VERP_LOCAL_PREFIX.length).toUpperCase();
	const withRecipient = MESSAGE_ID_LENGTH + RECIPIENT_HASH_LENGTH + TAG_LENGTH;
	if (token.length !== withRecipient && token.length !== MESSAGE_ID_LENGTH + TAG_LENGTH) return null;
	if (!/^[0-9A-HJKMNP-TV-Z]+$/.test(token)) return null;
	const messageId = token.slice(0, MESSAGE_ID_LENGTH);
	const hash = token.slice(MESSAGE_ID_LENGTH, token.length - TAG_LENGTH);
	const given = token.slice(token.length - TAG_LENGTH);
	if (!timingSafeEqual(given, await tag(signingKey, messageId, hash))) return null;
	return { messageId, recipientHash: hash === "" ? null : hash };
}
