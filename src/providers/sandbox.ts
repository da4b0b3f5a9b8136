// The built-in sandbox gateway: renders the message exactly as a real gateway would and captures the
// MIME in R2 instead of sending it. Capturing is idempotent (one object per message id), so a
// redelivered attempt overwrites rather than duplicates.
//
// Test addresses (docs/sandbox.md): a recipient whose local part starts with `tempfail` makes the
// attempt fail temporarily, one starting with `reject` makes it fail permanently, so retries and
// rejections can be exercised without a real provider.
import { messageIdHeader, renderMime } from "./mime";
import type { DeliveryResult, Gateway, OutgoingMessage } from "./types";

export const SANDBOX_GATEWAY_ID = "sandbox";

export function sandboxMimeKey(workspaceId: string, messageId: string): string {
	return `mime/${workspaceId}/${messageId}.eml`;
}

function localPart(email: string): string {
	return email.slice(0, email.lastIndexOf("@")).toLowerCase();
}

export class SandboxGateway implements Gateway {
	readonly type = "sandbox" as const;

	constructor(
		private readonly bodies: R2Bucket,
		readonly id: string = SANDBOX_GATEWAY_ID,
	) {}

	async send(outgoing: OutgoingMessage): Promise<DeliveryResult> {
		const { message } = outgoing;
		const everyone = [...message.to, ...message.cc, ...message.bcc];
		const rejected = everyone.find((m) => localPart(m.email).startsWith("reject"));
		if (rejected) return { ok: false, kind: "permanent", message: `550 5.1.1 sandbox: <${rejected.email}> rejected` };
		const tempfail = everyone.find((m) => localPart(m.email).startsWith("tempfail"));
		if (tempfail)
			return { ok: false, kind: "temporary", message: `451 4.3.0 sandbox: <${tempfail.email}> try again later` };

		const mimeKey = sandboxMimeKey(outgoing.workspaceId, outgoing.id);
		await this.bodies.put(mimeKey, renderMime(outgoing), {
			httpMetadata: { contentType: "message/rfc822" },
			customMetadata: {
				envelopeFrom: message.from.email,
				envelopeTo: everyone.map((m) => m.email).join(","),
			},
		});
		return { ok: true, providerMessageId: messageIdHeader(outgoing), mimeKey };
	}
}
