// Who an inbound envelope recipient is (docs/inbound.md): a VERP bounce address of one of our
// messages, the feedback-loop address of a bounce domain, or an inbound route; anything else is
// refused at RCPT time (550 5.1.1), so nothing is accepted that would then be lost.
import type { Db } from "../../db/client";
import {
	findMessageRef,
	type InboundRouteRecord,
	type MessageRef,
	matchInboundRoute,
} from "../../db/repositories/inbound";
import { domainOf, isEmail } from "../../lib/address";
import { isBounceDomain, recipientHash, type VerpConfig, verifyVerpLocalPart } from "./verp";

/** Local parts of a bounce domain that take feedback-loop (ARF) reports. */
export const FEEDBACK_LOCAL_PARTS: ReadonlySet<string> = new Set(["fbl", "feedback"]);

export type InboundTarget =
	/** `recipient` is the recipient the token names; null for a message-level token. */
	| { kind: "bounce"; address: string; message: MessageRef; recipient: string | null }
	| { kind: "feedback"; address: string }
	| { kind: "route"; address: string; route: InboundRouteRecord };

export type Refusal = { code: 550; enhanced: string; message: string };

/**
 * The same words for an unknown address and for a bounce address whose token does not verify, so a
 * forger learns nothing about which tokens are close.
 */
export const UNKNOWN_RECIPIENT: Refusal = { code: 550, enhanced: "5.1.1", message: "No such recipient here" };

export type TargetDeps = { db: Db; verp: VerpConfig };

export async function resolveRecipient(deps: TargetDeps, rcpt: string): Promise<InboundTarget | Refusal> {
	const address = rcpt.trim().replace(/^<|>$/g, "");
	if (!isEmail(address)) return UNKNOWN_RECIPIENT;
	const at = address.lastIndexOf("@");
	const local = address.slice(0, at);
	const domain = domainOf(address);
	if (isBounceDomain(deps.verp, domain)) {
		if (FEEDBACK_LOCAL_PARTS.has(local.toLowerCase())) return { kind: "feedback", address };
		return bounceTarget(deps, address, local);
	}
	const route = await matchInboundRoute(deps.db, address.toLowerCase(), domain);
	return route ? { kind: "route", address, route } : UNKNOWN_RECIPIENT;
}

async function bounceTarget(deps: TargetDeps, address: string, local: string): Promise<InboundTarget | Refusal> {
	const token = await verifyVerpLocalPart(deps.verp.signingKey, local);
	if (!token) {
		// Ids only: the claimed address may be anything the sender made up.
		console.warn("inbound: bounce address refused", { reason: "bad_token" });
		return UNKNOWN_RECIPIENT;
	}
	const message = await findMessageRef(deps.db, token.messageId);
	if (!message) {
		console.warn("inbound: bounce for an unknown message", { messageId: token.messageId });
		return UNKNOWN_RECIPIENT;
	}
	if (token.recipientHash === null) return { kind: "bounce", address, message, recipient: null };
	for (const email of message.recipients) {
		if ((await recipientHash(email)) === token.recipientHash)
			return { kind: "bounce", address, message, recipient: email };
	}
	console.warn("inbound: bounce token names no recipient of its message", { messageId: message.id });
	return UNKNOWN_RECIPIENT;
}

export const isRefusal = (t: InboundTarget | Refusal): t is Refusal => "code" in t;
