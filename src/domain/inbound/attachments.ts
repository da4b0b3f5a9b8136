// Serving one attachment of stored inbound mail by its signed link (./attachment-links.ts): the
// raw message is read back from R2 and parsed again, so D1 never holds attachment bytes.
import { createDb } from "../../db/client";
import { findInboundMessage } from "../../db/repositories/inbound";
import { verifyAttachmentToken } from "./attachment-links";
import { parseRawMime } from "./parse";

export type AttachmentFile = { filename: string | null; contentType: string; bytes: Uint8Array<ArrayBuffer> };

export type AttachmentAnswer =
	| { ok: true; file: AttachmentFile }
	| { ok: false; problem: "invalid" | "expired" | "gone" };

export async function readInboundAttachment(
	deps: { db: D1Database; bodies: R2Bucket; signingKey: string; now: number },
	token: string,
): Promise<AttachmentAnswer> {
	const check = await verifyAttachmentToken(deps.signingKey, token, deps.now);
	if (!check.ok) return check;
	const row = await findInboundMessage(createDb(deps.db), check.ref.inboundId);
	const object = row ? await deps.bodies.get(row.rawKey) : null;
	if (!object) return { ok: false, problem: "gone" };
	const email = await parseRawMime(new Uint8Array(await object.arrayBuffer()));
	const attachment = email.attachments[check.ref.index];
	if (!attachment) return { ok: false, problem: "gone" };
	const { content } = attachment;
	// A copy into a fresh ArrayBuffer, whatever postal-mime handed back.
	const source = typeof content === "string" ? new TextEncoder().encode(content) : new Uint8Array(content);
	const bytes = new Uint8Array(new ArrayBuffer(source.byteLength));
	bytes.set(source);
	return { ok: true, file: { filename: attachment.filename, contentType: attachment.mimeType, bytes } };
}
