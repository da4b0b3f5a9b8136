// The Email Worker entrypoint: mail Cloudflare Email Routing hands to the Worker (locally through
// `POST /cdn-cgi/handler/email?from=…&to=…`, docs/inbound.md) goes through receiveInbound, the same
// path as the SMTP bridge's MX mode. Refusals are SMTP replies; logs carry ids, never addresses.
import { inboundDeps } from "../src/domain/inbound/deps";
import { receiveInbound } from "../src/domain/inbound/receive";
import { type Env, loadConfig } from "../src/env";

/** Larger messages are refused before they are read (Email Routing itself caps at 25 MiB). */
export const MAX_INBOUND_BYTES = 25 * 1024 * 1024;

export async function handleEmail(message: ForwardableEmailMessage, env: Env): Promise<void> {
	if (message.rawSize > MAX_INBOUND_BYTES) {
		message.setReject("552 5.3.4 Message too big for this relay");
		return;
	}
	const raw = new Uint8Array(await new Response(message.raw).arrayBuffer());
	const result = await receiveInbound(inboundDeps(env, loadConfig(env), "email"), {
		mailFrom: message.from,
		rcptTo: [message.to],
		raw,
	});
	if (result.ok) {
		console.log("inbound mail stored", { ids: result.value.ids, size: raw.byteLength });
		return;
	}
	if (result.error.kind === "refused") {
		const { code, enhanced, message: text } = result.error.refusal;
		message.setReject(`${code} ${enhanced} ${text}`);
		return;
	}
	// Storage is down: throwing makes Email Routing answer the sending MTA with a temporary failure,
	// so the message is retried instead of accepted and lost.
	throw new Error(result.error.message);
}
