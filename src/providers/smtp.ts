// Plain SMTP relay over `cloudflare:sockets`, with our own small client (smtp-session.ts) rather than
// a library: the relay needs one result per RCPT (a library that throws on the first refused
// recipient loses the others), the rendered MIME sent as-is (libraries build their own), the
// caller's abort signal honoured on every read, and replies classified by their code.
import { z } from "zod";
import { type FailureWithoutEmail, parseSpec, redactor } from "./http";
import { SmtpError, type SmtpReply, SmtpSession } from "./smtp-session";
import type { DriverFactory, Envelope, Gateway, GatewayCheck, RecipientResult, RenderedMessage } from "./types";

export const smtpConfig = z.strictObject({
	host: z.string().min(1).max(253),
	port: z.number().int().min(1).max(65_535),
	security: z.enum(["starttls", "tls", "none"]),
	helo: z.string().min(1).max(253).optional(),
});
export const smtpCredentials = z
	.strictObject({ username: z.string().min(1).optional(), password: z.string().min(1).optional() })
	.refine((c) => (c.username === undefined) === (c.password === undefined), {
		message: "username and password go together",
		path: ["password"],
	});

type Outcome = FailureWithoutEmail | { status: "accepted"; providerMessageId: string | null; response?: string };

/** 4xx passes, 5xx does not (RFC 5321 4.2.1); 421 means the server is closing on us. */
function failureOf(reply: SmtpReply, redact: (t: string) => string): FailureWithoutEmail {
	if (reply.code === 530 || reply.code === 535 || reply.code === 534 || reply.code === 538) {
		return { status: "auth", response: redact(reply.text) };
	}
	return { status: reply.code >= 500 ? "permanent" : "temporary", response: redact(reply.text) };
}

function transportFailure(error: unknown, redact: (t: string) => string): FailureWithoutEmail {
	if (error instanceof SmtpError && error.code >= 400) {
		return { status: error.code >= 500 ? "auth" : "temporary", response: redact(`smtp: ${error.message}`) };
	}
	return { status: "temporary", response: redact(`smtp: ${error instanceof Error ? error.message : String(error)}`) };
}

/** True when the text holds a byte outside US-ASCII (the message needs 8BITMIME, an address SMTPUTF8). */
function nonAscii(text: string): boolean {
	for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return true;
	return false;
}

const queueIdOf = (text: string) => text.match(/queued as ([\w.-]+)/i)?.[1] ?? null;

export const createSmtpGateway: DriverFactory = (spec, context) => {
	const parsed = parseSpec(smtpConfig, smtpCredentials, spec);
	if ("error" in parsed) return parsed;
	const { config, credentials } = parsed;
	if (config.security === "none" && credentials.username && context.environment === "production") {
		return { error: "config.security: none would send the password in clear; use starttls or tls" };
	}
	const redact = redactor(credentials);
	const helo = config.helo ?? "mail-queue.invalid";

	/** Greeting, EHLO, STARTTLS and AUTH: a session ready for MAIL FROM, or why not. */
	async function ready(signal: AbortSignal): Promise<{ session: SmtpSession } | { failure: FailureWithoutEmail }> {
		const session = SmtpSession.open(config.host, config.port, config.security, signal);
		try {
			const greeting = await session.reply();
			if (greeting.code !== 220) return fail(session, failureOf(greeting, redact));
			let hello = await session.hello(helo);
			if (hello.code !== 250) return fail(session, failureOf(hello, redact));
			if (config.security === "starttls") {
				if (!session.extensions.has("STARTTLS")) {
					return fail(session, { status: "auth", response: "smtp: the server does not offer STARTTLS" });
				}
				const go = await session.command("STARTTLS");
				if (go.code !== 220) return fail(session, failureOf(go, redact));
				session.startTls();
				hello = await session.hello(helo);
				if (hello.code !== 250) return fail(session, failureOf(hello, redact));
			}
			if (credentials.username && credentials.password) {
				const auth = await session.authenticate(credentials.username, credentials.password);
				if (auth.code !== 235) {
					const failure = failureOf(auth, redact);
					// Any 5xx to AUTH means these credentials will not do; 454 and friends pass.
					return fail(session, auth.code >= 500 ? { ...failure, status: "auth" } : failure);
				}
			}
			return { session };
		} catch (error) {
			return fail(session, transportFailure(error, redact));
		}
	}

	async function fail(session: SmtpSession, failure: FailureWithoutEmail) {
		await session.close();
		return { failure };
	}

	async function transact(
		session: SmtpSession,
		message: RenderedMessage,
		envelope: Envelope,
	): Promise<RecipientResult[]> {
		const results = new Map<string, Outcome>();
		const all = (outcome: Outcome) => {
			for (const r of envelope.recipients) if (!results.has(r.email)) results.set(r.email, outcome);
		};
		const eightBit = nonAscii(message.raw);
		const params = [
			eightBit && session.extensions.has("8BITMIME") ? " BODY=8BITMIME" : "",
			nonAscii(envelope.from + envelope.recipients.map((r) => r.email).join("")) && session.extensions.has("SMTPUTF8")
				? " SMTPUTF8"
				: "",
		].join("");
		try {
			const mail = await session.command(`MAIL FROM:<${envelope.from}>${params}`);
			if (mail.code !== 250) {
				all(failureOf(mail, redact));
				return finish();
			}
			const accepted: string[] = [];
			for (const r of envelope.recipients) {
				const rcpt = await session.command(`RCPT TO:<${r.email}>`);
				if (rcpt.code === 250 || rcpt.code === 251) accepted.push(r.email);
				else results.set(r.email, failureOf(rcpt, redact));
				// 421: the server is going away; the rest cannot be tried on this connection.
				if (rcpt.code === 421) {
					all(failureOf(rcpt, redact));
					return finish();
				}
			}
			if (accepted.length === 0) return finish();
			const start = await session.command("DATA");
			if (start.code !== 354) {
				all(failureOf(start, redact));
				return finish();
			}
			const done = await session.data(message.raw);
			if (done.code === 250) {
				all({ status: "accepted", providerMessageId: queueIdOf(done.text), response: redact(done.text) });
			} else all(failureOf(done, redact));
		} catch (error) {
			// Whoever has no answer yet failed with the connection; refusals already recorded stand.
			all(transportFailure(error, redact));
		}
		return finish();

		function finish(): RecipientResult[] {
			return envelope.recipients.map((r) => ({ ...(results.get(r.email) ?? unanswered()), email: r.email }));
		}
	}

	const gateway: Gateway = {
		id: spec.id,
		type: "smtp",
		async send(message, envelope, signal) {
			const opened = await ready(signal);
			if ("failure" in opened) {
				const failure = opened.failure;
				return { recipients: envelope.recipients.map((r) => ({ ...failure, email: r.email })) };
			}
			try {
				return { recipients: await transact(opened.session, message, envelope) };
			} finally {
				await opened.session.close();
			}
		},
		async check(signal): Promise<GatewayCheck> {
			const opened = await ready(signal);
			if ("failure" in opened) return { ok: false, detail: opened.failure.response };
			await opened.session.close();
			const how = credentials.username ? "authenticated" : "connected without AUTH";
			return { ok: true, detail: `${config.host}:${config.port} ${config.security}: ${how}` };
		},
	};
	return gateway;
};

/** Only reachable if a recipient slipped every branch above; it is retried rather than lost. */
function unanswered(): FailureWithoutEmail {
	return { status: "temporary", response: "smtp: no answer recorded for this recipient" };
}
