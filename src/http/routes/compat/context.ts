// What every provider-compatible route hands the domain: who is sending, the accept path's
// dependencies and the request's Idempotency-Key — the same values POST /v1/emails passes.

import type { Context } from "hono";
import type { IdempotencyRequest } from "../../../domain/idempotency";
import type { SendDeps } from "../../../domain/messages/accept";
import { sendQueues } from "../../../domain/messages/bands";
import type { Sender } from "../../../domain/messages/validate";
import type { AppEnv } from "../../context";

export function sendDeps(c: Context<AppEnv>): SendDeps {
	return { signingKey: c.var.config.SIGNING_KEY, queue: sendQueues(c.env), bodies: c.env.BODIES };
}

export function senderOf(c: Context<AppEnv>): Sender {
	const p = c.var.principal;
	return {
		workspaceId: p.workspaceId,
		apiKeyId: p.keyId,
		sandbox: p.sandbox,
		verifiedDomains: p.verifiedDomains,
		// The default queue's priority picks its band (messages/bands.ts).
		queues: p.queues,
	};
}

/** The Idempotency-Key, honoured on every surface as on /v1; `body` is what its fingerprint covers. */
export function idempotencyOf(c: Context<AppEnv>, body: string): IdempotencyRequest | null {
	const key = c.req.header("idempotency-key");
	if (key === undefined) return null;
	return {
		store: c.env.IDEMPOTENCY,
		workspaceId: c.var.principal.workspaceId,
		key,
		method: c.req.method,
		path: new URL(c.req.url).pathname,
		body,
	};
}

/** The JSON body jsonBody already read and checked (undefined when there was none). */
export function jsonOf(c: Context<AppEnv>): unknown {
	const raw = c.var.rawBody;
	return raw === undefined || raw === "" ? undefined : (JSON.parse(raw) as unknown);
}
