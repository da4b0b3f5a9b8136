// Set-up for provider webhook tests: a message sent (sandbox) to two recipients, a gateway of the
// provider's type holding its webhook secret sealed as the API would, and what the message looks
// like afterwards (recipient statuses, events, suppressions).
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { GatewayType } from "../../src/db/schema";
import { encryptSecret } from "../../src/lib/crypto";
import { newId } from "../../src/lib/ids";
import { eventTypes, job, messageState, recipientStates } from "./delivery";
import { json, request, runQueue } from "./worker";
import { createWorkspace } from "./workspace";

export const ANN = "ann@example.org";
export const BEN = "ben@example.org";

export async function webhookSetup(type: GatewayType, credentials: Record<string, unknown>) {
	const ws = await createWorkspace();
	const body = await job(ws.id, ws.domain, { to: [{ email: ANN }, { email: BEN }] })();
	await runQueue("mq-send", [{ ...body, sandbox: true }]);
	expect(await messageState(body.id)).toMatchObject({ status: "sent" });
	const gatewayId = newId("gw");
	// Disabled, so it is only a webhook receiver here and never picked to deliver.
	await env.DB.prepare(
		"INSERT INTO gateways (id, workspace_id, name, type, enabled, credentials_enc) VALUES (?, ?, ?, ?, 0, ?)",
	)
		.bind(
			gatewayId,
			ws.id,
			`${type} events`,
			type,
			await encryptSecret(env.ENCRYPTION_KEY, JSON.stringify(credentials)),
		)
		.run();
	return { ws, messageId: body.id, gatewayId, path: `/v1/providers/${type}/webhook/${gatewayId}` };
}

/** Sets the provider message id the driver would have stored for the message's recipients. */
export async function setProviderId(messageId: string, providerId: string): Promise<void> {
	await env.DB.prepare("UPDATE message_recipients SET provider_message_id = ? WHERE message_id = ?")
		.bind(providerId, messageId)
		.run();
}

/** Recipient statuses, events and suppressions: everything a webhook could change. */
export async function stateOf(workspaceId: string, messageId: string) {
	const { results } = await env.DB.prepare(
		"SELECT email, reason FROM suppressions WHERE workspace_id = ? ORDER BY email",
	)
		.bind(workspaceId)
		.all<{ email: string; reason: string }>();
	return {
		recipients: (await recipientStates(messageId)).map((r) => `${r.email}:${r.status}`),
		events: await eventTypes(messageId),
		suppressions: results.map((r) => `${r.email}:${r.reason}`),
	};
}

export async function post(path: string, body: string, headers: Record<string, string> = {}) {
	const response = await request(path, {
		method: "POST",
		rawBody: body,
		headers: { "content-type": "application/json", ...headers },
	});
	return { status: response.status, body: await json(response) };
}
