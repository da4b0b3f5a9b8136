// Vitest globalSetup (runs in Node, beside workerd): real local servers the drivers talk to over
// 127.0.0.1 — smtp-server instances (STARTTLS + AUTH, implicit TLS, a 451 greylister, a 421
// greeting) and aws-ses-v2-local — plus a tiny HTTP inbox so tests in workerd can read what the SMTP
// servers received. Ports are handed to the tests with provide/inject.
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer as createTcpServer } from "node:net";
import sesLocal from "aws-ses-v2-local";
import { SMTPServer } from "smtp-server";
import type { TestProject } from "vitest/node";

export const SMTP_USER = "relay";
export const SMTP_PASSWORD = "correct horse battery staple";

type Received = { port: number; from: string; to: string[]; data: string; user: string | null; secure: boolean };

const key = readFileSync(new URL("../fixtures/smtp-test-key.pem", import.meta.url));
const cert = readFileSync(new URL("../fixtures/smtp-test-cert.pem", import.meta.url));

const listen = (server: { listen: (port: number, host: string, cb: () => void) => unknown }) =>
	new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

function smtp(received: Received[], options: { secure: boolean; greylist?: boolean }): SMTPServer {
	const server: SMTPServer = new SMTPServer({
		secure: options.secure,
		key,
		cert,
		authMethods: ["PLAIN", "LOGIN"],
		// A relay must not send a password in clear, so AUTH is offered only after STARTTLS.
		allowInsecureAuth: false,
		logger: false,
		onAuth(auth, _session, callback) {
			if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) callback(null, { user: auth.username });
			else callback(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
		},
		onRcptTo(address, _session, callback) {
			if (address.address.startsWith("refused")) {
				callback(Object.assign(new Error("5.1.1 <refused> User unknown"), { responseCode: 550 }));
			} else if (options.greylist || address.address.startsWith("later")) {
				callback(Object.assign(new Error("4.7.1 Greylisted, try again later"), { responseCode: 451 }));
			} else callback();
		},
		onData(stream, session, callback) {
			const chunks: Buffer[] = [];
			stream.on("data", (c: Buffer) => chunks.push(c));
			stream.on("end", () => {
				received.push({
					port: (server.server.address() as AddressInfo).port,
					from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
					to: session.envelope.rcptTo.map((r) => r.address),
					data: Buffer.concat(chunks).toString("utf8"),
					user: typeof session.user === "string" ? session.user : null,
					secure: session.secure,
				});
				callback(null, "2.0.0 Ok: queued as LOCAL1");
			});
		},
	});
	server.on("error", () => {
		// Clients that drop the connection mid-session are part of the tests.
	});
	return server;
}

const port = (s: { address(): AddressInfo | string | null }) => (s.address() as AddressInfo).port;

export default async function setup(project: TestProject) {
	const received: Received[] = [];
	const starttls = smtp(received, { secure: false });
	const implicit = smtp(received, { secure: true });
	const greylist = smtp(received, { secure: false, greylist: true });
	await Promise.all([starttls, implicit, greylist].map((s) => listen(s.server)));

	// A server that is shutting down: it greets with 421 and hangs up.
	const closing = createTcpServer((socket) => socket.end("421 4.3.2 Service shutting down, try later\r\n"));
	await listen(closing);

	const inbox: Server = createHttpServer((req, res) => {
		if (req.method === "DELETE") received.length = 0;
		res.setHeader("content-type", "application/json");
		res.end(JSON.stringify(received));
	});
	await listen(inbox);

	process.env.AWS_SES_ACCOUNT = JSON.stringify({
		DedicatedIpAutoWarmupEnabled: false,
		Details: {
			AdditionalContactEmailAddresses: [],
			ContactLanguage: "EN",
			MailType: "TRANSACTIONAL",
			ReviewDetails: { CaseId: "local", Status: "GRANTED" },
			UseCaseDescription: "tests",
			WebsiteURL: "https://example.test",
		},
		EnforcementStatus: "HEALTHY",
		ProductionAccessEnabled: true,
		SendingEnabled: true,
		SendQuota: { Max24HourSend: 50000, MaxSendRate: 14, SentLast24Hours: 0 },
		SuppressionAttributes: { SuppressedReasons: [] },
	});
	const ses = await sesLocal({ host: "127.0.0.1", port: 0 });

	project.provide("localServers", {
		smtpStarttls: port(starttls.server),
		smtpTls: port(implicit.server),
		smtpGreylist: port(greylist.server),
		smtpClosing: port(closing),
		smtpInbox: port(inbox),
		ses: port(ses),
	});

	return async () => {
		await Promise.all([
			...[starttls, implicit, greylist].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
			...[closing, inbox, ses].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
		]);
	};
}

declare module "vitest" {
	export interface ProvidedContext {
		localServers: {
			smtpStarttls: number;
			smtpTls: number;
			smtpGreylist: number;
			smtpClosing: number;
			smtpInbox: number;
			ses: number;
		};
	}
}
