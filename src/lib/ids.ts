// Identifiers. Resource ids are prefixed ULIDs; message ids are ULIDs with an HMAC tag bound to the
// workspace, so an id the API handed out can be recognised before the consumer has materialized it
// (DESIGN.md "Write path") and a forged or foreign id is refused without a D1 read.
import { hmacSha256 } from "./crypto";
import { base32 } from "./encoding";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const TAG_LENGTH = 8;
export const MESSAGE_ID_LENGTH = 26 + TAG_LENGTH;

function ulidTimePart(now: number): string {
	let time = "";
	let t = now;
	for (let i = 0; i < 10; i++) {
		time = CROCKFORD[t % 32] + time;
		t = Math.floor(t / 32);
	}
	return time;
}

export function ulid(now = Date.now()): string {
	return ulidTimePart(now) + base32(crypto.getRandomValues(new Uint8Array(10))).slice(0, 16);
}

/** Milliseconds since the epoch encoded in a ULID's first ten characters, or null if malformed. */
export function ulidTime(id: string): number | null {
	let t = 0;
	for (const ch of id.slice(0, 10)) {
		const v = CROCKFORD.indexOf(ch);
		if (v < 0) return null;
		t = t * 32 + v;
	}
	return t;
}

export type IdPrefix =
	| "ws"
	| "key"
	| "dom"
	| "gw"
	| "usr"
	| "evt"
	| "sup"
	| "q"
	| "aud"
	| "rl"
	| "smtp"
	| "rr"
	| "inr"
	| "inb"
	| "rcp";

export function newId(prefix: IdPrefix): string {
	return `${prefix}_${ulid().toLowerCase()}`;
}

async function messageTag(secret: string, workspaceId: string, core: string): Promise<string> {
	return base32(await hmacSha256(secret, `msg:${workspaceId}:${core}`)).slice(0, TAG_LENGTH);
}

export async function newMessageId(secret: string, workspaceId: string, now = Date.now()): Promise<string> {
	const core = ulid(now);
	return core + (await messageTag(secret, workspaceId, core));
}

/**
 * The id of item `index` of a request sent with Idempotency-Key `key`: the same on every retry, so the
 * consumer's idempotent insert drops a copy. The time part is when the key was first seen; the random
 * part is an HMAC, so ids stay unguessable and distinct per workspace, key and item.
 */
export async function idempotentMessageId(
	secret: string,
	workspaceId: string,
	key: string,
	index: number,
	firstSeenAt: number,
): Promise<string> {
	const random = base32(await hmacSha256(secret, `idem:${workspaceId}:${key}:${index}`)).slice(0, 16);
	const core = ulidTimePart(firstSeenAt) + random;
	return core + (await messageTag(secret, workspaceId, core));
}

const MESSAGE_ID = /^[0-9A-HJKMNP-TV-Z]{34}$/;

/** True when `id` was issued by this relay for this workspace. */
export async function verifyMessageId(secret: string, workspaceId: string, id: string): Promise<boolean> {
	if (!MESSAGE_ID.test(id)) return false;
	const core = id.slice(0, 26);
	return (await messageTag(secret, workspaceId, core)) === id.slice(26);
}
