// The contract every delivery gateway implements, and the classified result of one attempt
// (DESIGN.md "Send consumer": accepted / temporary / permanent / auth).
import type { GatewayType } from "../db/schema";
import type { AcceptedMessage } from "../domain/messages/model";

export type OutgoingMessage = {
	id: string;
	workspaceId: string;
	/** 1 for the first attempt; with `id` it forms the per-attempt idempotency key for providers. */
	attempt: number;
	message: AcceptedMessage;
};

export type DeliveryFailureKind = "temporary" | "permanent" | "auth";

export type DeliveryResult =
	| { ok: true; providerMessageId: string; mimeKey?: string }
	| { ok: false; kind: DeliveryFailureKind; message: string };

export interface Gateway {
	readonly id: string;
	readonly type: GatewayType;
	send(outgoing: OutgoingMessage, signal: AbortSignal): Promise<DeliveryResult>;
}

/** Longest a single provider call may take before the attempt counts as a temporary failure. */
export const DELIVERY_TIMEOUT_MS = 30_000;
