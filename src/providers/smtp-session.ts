// One SMTP client session over `cloudflare:sockets` (RFC 5321): replies read as whole multi-line
// answers, EHLO extensions parsed, STARTTLS upgrading the same socket, AUTH PLAIN/LOGIN (RFC 4616,
// draft LOGIN), and DATA with dot-stuffing. The driver in smtp.ts decides what each reply means.
import { connect } from "cloudflare:sockets";
import { toBase64, utf8 } from "../lib/encoding";

export type SmtpSecurity = "starttls" | "tls" | "none";
export type SmtpReply = { code: number; text: string };

/** An SMTP reply that ended the session, or a transport failure (code 0). */
export class SmtpError extends Error {
	constructor(
		readonly code: number,
		message: string,
	) {
		super(message);
	}
}

/** Longest wait for any one reply (the greeting included). */
export const SMTP_REPLY_TIMEOUT_MS = 20_000;
/** Longest the server may take to accept the message after DATA's final dot. */
export const SMTP_DATA_TIMEOUT_MS = 25_000;
/** Longest reply accepted, so a misbehaving server cannot grow the buffer without bound. */
const MAX_REPLY_BYTES = 64 * 1024;

const decoder = new TextDecoder();

export class SmtpSession {
	private socket: Socket;
	private reader: ReadableStreamDefaultReader<Uint8Array>;
	private writer: WritableStreamDefaultWriter<Uint8Array>;
	private buffer = "";
	/** EHLO keywords, upper case, with their parameters (`AUTH` → `PLAIN LOGIN`). */
	extensions = new Map<string, string>();

	private constructor(
		socket: Socket,
		private readonly signal: AbortSignal,
	) {
		this.socket = socket;
		this.reader = socket.readable.getReader();
		this.writer = socket.writable.getWriter();
	}

	static open(host: string, port: number, security: SmtpSecurity, signal: AbortSignal): SmtpSession {
		const secureTransport = security === "tls" ? "on" : security === "starttls" ? "starttls" : "off";
		return new SmtpSession(connect({ hostname: host, port }, { secureTransport, allowHalfOpen: false }), signal);
	}

	/** Reads one complete reply: lines `ddd-text` until the last `ddd text`. */
	async reply(timeoutMs = SMTP_REPLY_TIMEOUT_MS): Promise<SmtpReply> {
		const lines = await this.replyLines(timeoutMs);
		const code = lines[lines.length - 1]?.code ?? 0;
		return { code, text: `${code} ${lines.map((l) => l.text).join(" ")}`.trim() };
	}

	private async replyLines(timeoutMs: number): Promise<{ code: number; text: string }[]> {
		const deadline = AbortSignal.any([this.signal, AbortSignal.timeout(timeoutMs)]);
		const lines: { code: number; text: string }[] = [];
		for (;;) {
			const end = this.buffer.indexOf("\r\n");
			if (end >= 0) {
				const line = this.buffer.slice(0, end);
				this.buffer = this.buffer.slice(end + 2);
				if (!/^\d{3}/.test(line)) throw new SmtpError(0, `malformed SMTP reply: ${line.slice(0, 80)}`);
				lines.push({ code: Number(line.slice(0, 3)), text: line.slice(4) });
				if (line[3] !== "-") return lines;
				continue;
			}
			if (this.buffer.length > MAX_REPLY_BYTES) throw new SmtpError(0, "SMTP reply too long");
			const chunk = await this.read(deadline);
			if (chunk === null) throw new SmtpError(0, "the server closed the connection");
			this.buffer += decoder.decode(chunk, { stream: true });
		}
	}

	private read(deadline: AbortSignal): Promise<Uint8Array | null> {
		if (deadline.aborted) return Promise.reject(abortError(deadline));
		return new Promise((resolve, reject) => {
			const onAbort = () => reject(abortError(deadline));
			deadline.addEventListener("abort", onAbort, { once: true });
			this.reader.read().then(
				(r) => {
					deadline.removeEventListener("abort", onAbort);
					resolve(r.done ? null : r.value);
				},
				(error: unknown) => {
					deadline.removeEventListener("abort", onAbort);
					reject(new SmtpError(0, `connection failed: ${error instanceof Error ? error.message : String(error)}`));
				},
			);
		});
	}

	async write(text: string): Promise<void> {
		try {
			await this.writer.write(utf8.encode(text));
		} catch (error) {
			throw new SmtpError(0, `connection failed: ${error instanceof Error ? error.message : String(error)}`);
		}
	}

	async command(line: string, timeoutMs?: number): Promise<SmtpReply> {
		await this.write(`${line}\r\n`);
		return this.reply(timeoutMs);
	}

	/** EHLO (HELO if the server refuses it); the reply's keyword lines become `extensions`. */
	async hello(helo: string): Promise<SmtpReply> {
		await this.write(`EHLO ${helo}\r\n`);
		const lines = await this.replyLines(SMTP_REPLY_TIMEOUT_MS);
		const code = lines[lines.length - 1]?.code ?? 0;
		if (code >= 500) {
			this.extensions = new Map();
			return this.command(`HELO ${helo}`);
		}
		this.extensions = new Map(
			lines.slice(1).map((l) => {
				const [keyword = "", ...rest] = l.text.split(" ");
				return [keyword.toUpperCase(), rest.join(" ").toUpperCase()];
			}),
		);
		return { code, text: `${code} ${lines.map((l) => l.text).join(" ")}`.trim() };
	}

	/** Upgrades this connection to TLS after the server's 220 to STARTTLS. */
	startTls(): void {
		this.reader.releaseLock();
		this.writer.releaseLock();
		// workerd verifies the certificate against the hostname the socket was opened with.
		this.socket = this.socket.startTls();
		this.reader = this.socket.readable.getReader();
		this.writer = this.socket.writable.getWriter();
		this.buffer = "";
	}

	/** AUTH with the strongest mechanism offered among PLAIN and LOGIN. */
	async authenticate(username: string, password: string): Promise<SmtpReply> {
		const offered = (this.extensions.get("AUTH") ?? "").split(" ");
		if (offered.includes("PLAIN")) {
			return this.command(`AUTH PLAIN ${toBase64(utf8.encode(`\u0000${username}\u0000${password}`))}`);
		}
		if (offered.includes("LOGIN")) {
			const start = await this.command("AUTH LOGIN");
			if (start.code !== 334) return start;
			const user = await this.command(toBase64(utf8.encode(username)));
			if (user.code !== 334) return user;
			return this.command(toBase64(utf8.encode(password)));
		}
		throw new SmtpError(504, "the server offers neither AUTH PLAIN nor AUTH LOGIN");
	}

	/** Sends the message body after a 354, dot-stuffed, and returns the server's verdict. */
	async data(raw: string): Promise<SmtpReply> {
		await this.write(dotStuff(raw));
		return this.reply(SMTP_DATA_TIMEOUT_MS);
	}

	/** Says goodbye politely when it can; a dead connection is closed either way. */
	async close(): Promise<void> {
		try {
			await Promise.race([this.command("QUIT"), new Promise((resolve) => setTimeout(resolve, 1_000))]);
		} catch {
			// The session is over whatever QUIT answers.
		}
		try {
			await this.socket.close();
		} catch {
			// Already closed by the server.
		}
	}
}

function abortError(signal: AbortSignal): SmtpError {
	const reason: unknown = signal.reason;
	const timedOut = reason instanceof Error && reason.name === "TimeoutError";
	return new SmtpError(0, timedOut ? "the server did not answer in time" : "the attempt was aborted");
}

/** CRLF line ends, a leading dot doubled on every line, and the terminating `.` line (RFC 5321 4.5.2). */
export function dotStuff(raw: string): string {
	const body = raw.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
	return `${body}${body.endsWith("\r\n") ? "" : "\r\n"}.\r\n`;
}
