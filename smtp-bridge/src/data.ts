// Reading DATA for both listener kinds: the bytes as the client sent them, unless the message is
// over SIZE or has a bare CR/LF (smuggling guard), in which case nothing is kept.
import type { SMTPServerDataStream } from "smtp-server";
import { LineEndingGuard } from "./line-endings.js";
import type { SmtpReply } from "./replies.js";

export type ReceivedData =
	| { ok: true; raw: Buffer; bytes: number }
	| { ok: false; reply: SmtpReply; bytes: number; reason?: string };

export function receiveData(stream: SMTPServerDataStream): Promise<ReceivedData> {
	return new Promise((resolve) => {
		const guard = new LineEndingGuard();
		const chunks: Buffer[] = [];
		stream.on("data", (chunk: Buffer) => {
			guard.feed(chunk);
			if (!stream.sizeExceeded && !guard.violation) chunks.push(chunk);
		});
		stream.on("end", () => {
			guard.end();
			const bytes = stream.byteLength;
			// smtp-server answers an oversized message with 552 itself, whatever is passed on.
			if (stream.sizeExceeded)
				return resolve({ ok: false, bytes, reply: { code: 552, text: "5.3.4 Message too big" } });
			if (guard.violation) {
				return resolve({
					ok: false,
					bytes,
					reason: guard.violation,
					reply: { code: 550, text: "5.6.0 Bare CR or LF in message; lines must end with CRLF" },
				});
			}
			resolve({ ok: true, raw: Buffer.concat(chunks), bytes });
		});
	});
}
