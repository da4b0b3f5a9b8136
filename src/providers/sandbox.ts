// The built-in sandbox gateway: takes the rendered message exactly as a real gateway would and
// captures its MIME in R2 instead of sending it. Capturing is idempotent (one object per message
// id), so a redelivered attempt overwrites rather than duplicates.
//
// Test addresses (docs/sandbox.md), judged per recipient like a real server's RCPT replies: a local
// part starting with `tempfail` fails temporarily, `reject` permanently, `authfail` as a gateway
// credential error; everyone else is accepted.
import type { DeliveryResult, DriverFactory, Gateway, RecipientResult } from "./types";

export const SANDBOX_GATEWAY_ID = "sandbox";

export function sandboxMimeKey(workspaceId: string, messageId: string): string {
	return `mime/${workspaceId}/${messageId}.eml`;
}

function localPart(email: string): string {
	return email.slice(0, email.lastIndexOf("@")).toLowerCase();
}

function judge(email: string, messageIdHeader: string): RecipientResult {
	const local = localPart(email);
	if (local.startsWith("reject"))
		return { email, status: "permanent", response: "550 5.1.1 sandbox: mailbox rejected" };
	if (local.startsWith("tempfail"))
		return { email, status: "temporary", response: "451 4.3.0 sandbox: try again later" };
	if (local.startsWith("authfail"))
		return { email, status: "auth", response: "535 5.7.8 sandbox: authentication credentials invalid" };
	return { email, status: "accepted", providerMessageId: messageIdHeader };
}

export function sandboxGateway(bodies: R2Bucket, id: string = SANDBOX_GATEWAY_ID): Gateway {
	return {
		id,
		type: "sandbox",
		async send(message, envelope): Promise<DeliveryResult> {
			const recipients = envelope.recipients.map((r) => judge(r.email, message.messageIdHeader));
			const accepted = recipients.filter((r) => r.status === "accepted").map((r) => r.email);
			if (accepted.length === 0) return { recipients };
			const mimeKey = sandboxMimeKey(message.workspaceId, message.id);
			await bodies.put(mimeKey, message.raw, {
				httpMetadata: { contentType: "message/rfc822" },
				customMetadata: { envelopeFrom: envelope.from, envelopeTo: accepted.join(",") },
			});
			return { recipients, mimeKey };
		},
	};
}

export const createSandboxGateway: DriverFactory = (spec, context) => sandboxGateway(context.bodies, spec.id);
