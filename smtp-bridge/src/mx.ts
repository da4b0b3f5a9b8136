// MX mode (issue 10 item 5): the listener other mail servers deliver to, without AUTH. Each RCPT TO
// is asked of the Worker (only its bounce and inbound addresses are accepted, so it is never an open
// relay); after DATA the raw message goes to the Worker's inbound endpoint and 250 is answered only
// once the Worker says it is stored. Same smuggling, size and connection limits as submission.
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerOptions } from "smtp-server";
import type { Config } from "./config.js";
import { receiveData } from "./data.js";
import { PerIpCounter } from "./limits.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import { mxDataReply, mxRecipientReply, type SmtpReply, TEMPORARY } from "./replies.js";
import { smtpError } from "./sessions.js";
import type { WorkerClient } from "./worker-client.js";

type Handlers = Pick<SMTPServerOptions, "onConnect" | "onAuth" | "onMailFrom" | "onRcptTo" | "onData" | "onClose">;

export type MxDeps = { config: Config; worker: WorkerClient; metrics: Metrics; log: Logger; secret: string };

export function mxHandlers({ config, worker, metrics, log, secret }: MxDeps): Handlers {
	const perIp = new PerIpCounter(config.SMTP_MAX_CONNECTIONS_PER_IP);
	const counted = new Set<string>();

	return {
		onConnect(session, callback) {
			if (!perIp.acquire(session.remoteAddress)) {
				metrics.connectionsRefused++;
				log("warn", "mx connection refused: per-IP limit", { session: session.id });
				return callback(smtpError({ code: 421, text: "4.7.0 Too many connections from your address" }));
			}
			counted.add(session.id);
			metrics.mxSessionsActive++;
			metrics.mxSessionsTotal++;
			callback();
		},

		// AUTH is neither advertised nor taken here (disabledCommands); this only backs that up.
		onAuth(_auth, _session, callback) {
			callback(smtpError({ code: 503, text: "5.5.1 AUTH not available on this port" }));
		},

		onMailFrom(_address: SMTPServerAddress, _session, callback) {
			callback();
		},

		onRcptTo(address: SMTPServerAddress, session, callback) {
			if (session.envelope.rcptTo.length >= config.SMTP_MAX_RECIPIENTS) {
				return callback(smtpError({ code: 452, text: "4.5.3 Too many recipients" }));
			}
			const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
			worker.inboundRecipient(secret, mailFrom, address.address).then(
				(result) => {
					const refusal = mxRecipientReply(result);
					metrics.mxRecipient(result.kind === "failed" ? "failed" : refusal ? "refused" : "accepted");
					if (result.kind === "failed" && result.answer.kind === "refused" && result.answer.status < 500) {
						log("error", "mx recipient check refused by the Worker: check BRIDGE_SECRET", {
							status: result.answer.status,
						});
					}
					if (refusal) return callback(smtpError(refusal));
					callback();
				},
				() => {
					metrics.mxRecipient("failed");
					callback(smtpError(TEMPORARY));
				},
			);
		},

		onData(stream: SMTPServerDataStream, session, callback) {
			const finish = (reply: SmtpReply, bytes: number, fields: Record<string, string | number> = {}) => {
				metrics.mxMessage(reply.code);
				log("info", "mx message", { session: session.id, code: reply.code, bytes, ...fields });
				if (reply.code === 250) callback(null, reply.text);
				else callback(smtpError(reply));
			};
			void receiveData(stream).then((data) => {
				metrics.bytesReceived += data.bytes;
				if (!data.ok) return finish(data.reply, data.bytes, data.reason ? { reason: data.reason } : {});
				const mailFrom = session.envelope.mailFrom;
				const submission = {
					mailFrom: mailFrom ? mailFrom.address : "",
					rcptTo: session.envelope.rcptTo.map((r) => r.address),
					raw: data.raw,
					clientIp: session.remoteAddress,
				};
				worker.inbound(secret, submission).then(
					(answer) => {
						const id = answer.kind === "ok" && typeof answer.body.id === "string" ? answer.body.id : "";
						const fields: Record<string, string | number> =
							answer.kind === "unreachable" ? { worker: answer.reason } : { id, status: answer.status };
						finish(mxDataReply(answer), data.bytes, fields);
					},
					() => finish(TEMPORARY, data.bytes),
				);
			});
		},

		onClose(session) {
			if (counted.delete(session.id)) {
				perIp.release(session.remoteAddress);
				metrics.mxSessionsActive--;
			}
		},
	};
}
