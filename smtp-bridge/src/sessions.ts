// The SMTP session handlers every listener shares: who may connect, AUTH through the Worker, what a
// transaction may hold, and DATA handed to the Worker with the reply chosen by replies.ts.
import type {
	SMTPServerAddress,
	SMTPServerAuthentication,
	SMTPServerAuthenticationResponse,
	SMTPServerDataStream,
	SMTPServerOptions,
	SMTPServerSession,
} from "smtp-server";
import type { Config } from "./config.js";
import { receiveData } from "./data.js";
import { FailureWindow, isLoopback, networkList, PerIpCounter } from "./limits.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import { authReply, dataReply, type SmtpReply, TEMPORARY } from "./replies.js";
import type { Login, WorkerClient } from "./worker-client.js";

type Callback = (error?: Error | null) => void;

/** An Error smtp-server turns into the reply `code text`. */
export function smtpError(reply: SmtpReply): Error & { responseCode: number } {
	return Object.assign(new Error(reply.text), { responseCode: reply.code });
}

type Handlers = Pick<
	SMTPServerOptions,
	"onConnect" | "onSecure" | "onAuth" | "onMailFrom" | "onRcptTo" | "onData" | "onClose"
>;

export type SessionDeps = { config: Config; worker: WorkerClient; metrics: Metrics; log: Logger };

export function sessionHandlers({ config, worker, metrics, log }: SessionDeps): Handlers {
	const perIp = new PerIpCounter(config.SMTP_MAX_CONNECTIONS_PER_IP);
	const authFailures = new FailureWindow(config.AUTH_FAILURE_LIMIT, config.AUTH_FAILURE_WINDOW_MS);
	/** Session id → the login its client gave; the only place the bridge keeps a password. */
	const logins = new Map<string, Login>();
	const counted = new Set<string>();
	const trusted = networkList(config.TRUSTED_NETWORKS);
	const secret = config.BRIDGE_SECRET;

	/** AUTH without TLS is offered only to loopback clients (local development, a sidecar). */
	const plainAuthAllowed = (session: SMTPServerSession) =>
		session.secure || (config.ALLOW_LOOPBACK_PLAIN_AUTH && isLoopback(session.remoteAddress));

	return {
		onConnect(session, callback) {
			if (!perIp.acquire(session.remoteAddress)) {
				metrics.connectionsRefused++;
				log("warn", "connection refused: per-IP limit", { session: session.id });
				return callback(smtpError({ code: 421, text: "4.7.0 Too many connections from your address" }));
			}
			counted.add(session.id);
			metrics.sessionsActive++;
			metrics.sessionsTotal++;
			// Not advertised before TLS to a remote client, so it never sends a password in the clear.
			session.disabledCommands = plainAuthAllowed(session) ? [] : ["AUTH"];
			callback();
		},

		onSecure(_socket, session, callback) {
			session.disabledCommands = [];
			callback();
		},

		onAuth(auth: SMTPServerAuthentication, session, callback) {
			const reply = (r: SmtpReply) => callback(smtpError(r));
			if (!plainAuthAllowed(session)) return reply({ code: 538, text: "5.7.11 Encryption required: STARTTLS first" });
			if (authFailures.blocked(session.remoteAddress)) {
				return reply({ code: 454, text: "4.7.0 Too many failed logins from your address; try again later" });
			}
			const login: Login = { username: auth.username ?? "", password: auth.password ?? "" };
			worker.auth(login, session.remoteAddress).then(
				(answer) => {
					const refusal = authReply(answer);
					if (refusal) {
						if (refusal.code === 535) {
							metrics.authFailures++;
							authFailures.record(session.remoteAddress);
						}
						log("info", "auth refused", { session: session.id, code: refusal.code });
						return reply(refusal);
					}
					logins.set(session.id, login);
					const response: SMTPServerAuthenticationResponse = { user: auth.username ?? "smtp" };
					callback(null, response);
				},
				() => reply({ code: 454, text: "4.7.0 Temporary authentication failure; try again later" }),
			);
		},

		onMailFrom(_address: SMTPServerAddress, session, callback: Callback) {
			if (!logins.has(session.id) && !trusted(session.remoteAddress)) {
				return callback(
					smtpError({
						code: 530,
						text: plainAuthAllowed(session)
							? "5.7.0 Authentication required"
							: "5.7.0 Authentication required; issue STARTTLS and AUTH first",
					}),
				);
			}
			callback();
		},

		onRcptTo(_address: SMTPServerAddress, session, callback: Callback) {
			if (session.envelope.rcptTo.length >= config.SMTP_MAX_RECIPIENTS) {
				return callback(smtpError({ code: 452, text: "4.5.3 Too many recipients" }));
			}
			callback();
		},

		onData(stream: SMTPServerDataStream, session, callback) {
			const finish = (reply: SmtpReply, bytes: number, fields: Record<string, string | number> = {}) => {
				metrics.message(reply.code);
				log("info", "message", { session: session.id, code: reply.code, bytes, ...fields });
				if (reply.code === 250) callback(null, reply.text);
				else callback(smtpError(reply));
			};
			void receiveData(stream).then((data) => {
				metrics.bytesReceived += data.bytes;
				if (!data.ok) return finish(data.reply, data.bytes, data.reason ? { reason: data.reason } : {});
				const login = logins.get(session.id);
				const mailFrom = session.envelope.mailFrom;
				const submission = {
					mailFrom: mailFrom ? mailFrom.address : "",
					rcptTo: session.envelope.rcptTo.map((r) => r.address),
					raw: data.raw,
					clientIp: session.remoteAddress,
				};
				// Without a login the client is in TRUSTED_NETWORKS (onMailFrom let it through).
				const relay = login === undefined;
				if (relay && (secret === undefined || !trusted(session.remoteAddress))) {
					return finish({ code: 530, text: "5.7.0 Authentication required" }, data.bytes);
				}
				(login ? worker.submit(login, submission) : worker.relay(secret ?? "", submission)).then(
					(answer) => {
						const reply = dataReply(answer, relay);
						if (relay && answer.kind === "refused" && (answer.code === "unauthorized" || answer.code === "forbidden")) {
							log("error", "relay refused by the Worker: check BRIDGE_SECRET", { status: answer.status });
						}
						const id = answer.kind === "ok" && typeof answer.body.id === "string" ? answer.body.id : "";
						finish(reply, data.bytes, answer.kind === "unreachable" ? { worker: answer.reason } : { id });
					},
					() => finish(TEMPORARY, data.bytes),
				);
			});
		},

		onClose(session) {
			logins.delete(session.id);
			if (counted.delete(session.id)) {
				perIp.release(session.remoteAddress);
				metrics.sessionsActive--;
			}
		},
	};
}
