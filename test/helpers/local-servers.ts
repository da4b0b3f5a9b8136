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

/** What the fake resolver answers for one name and type (test/helpers/doh.ts writes these). */
type DohEntry = {
	status?: number;
	answer?: { name: string; type: number; data: string }[];
	/** Answer this late (to exceed the client's timeout). */
	delayMs?: number;
	/** Answer with this HTTP status and no DNS JSON. */
	http?: number;
};

/**
 * A DNS-over-HTTPS JSON resolver on 127.0.0.1 (the Cloudflare/Google schema) whose zone tests set
 * over HTTP: `PUT /zone` `{name, type, entry}`. Unknown names are NXDOMAIN. A query without
 * `accept: application/dns-json` gets 415, as a real DoH endpoint refuses it. `GET /queries` lists
 * what was asked.
 */
function fakeDoh(): Server {
	const zone = new Map<string, DohEntry>();
	const queries: { name: string; type: string }[] = [];
	return createHttpServer((req, res) => {
		const url = new URL(req.url ?? "/", "http://127.0.0.1");
		const reply = (status: number, body: unknown) => {
			res.statusCode = status;
			res.setHeader("content-type", "application/dns-json");
			res.end(JSON.stringify(body));
		};
		if (req.method === "PUT" && url.pathname === "/zone") {
			const chunks: Buffer[] = [];
			req.on("data", (c: Buffer) => chunks.push(c));
			req.on("end", () => {
				const { name, type, entry } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
					name: string;
					type: string;
					entry: DohEntry | null;
				};
				const key = `${name.toLowerCase()}|${type}`;
				if (entry) zone.set(key, entry);
				else zone.delete(key);
				reply(200, { ok: true });
			});
			return;
		}
		if (url.pathname === "/queries") return reply(200, queries);
		if (url.pathname !== "/dns-query") return reply(404, {});
		if (req.headers.accept !== "application/dns-json") return reply(415, {});
		const name = (url.searchParams.get("name") ?? "").toLowerCase().replace(/\.$/, "");
		const type = url.searchParams.get("type") ?? "A";
		queries.push({ name, type });
		const entry = zone.get(`${name}|${type}`);
		const question = [{ name: `${name}.`, type: type === "TXT" ? 16 : type === "MX" ? 15 : 1 }];
		const answer = () => {
			if (!entry) return reply(200, { Status: 3, Question: question });
			if (entry.http) return reply(entry.http, { error: "unavailable" });
			reply(200, { Status: entry.status ?? 0, Question: question, ...(entry.answer ? { Answer: entry.answer } : {}) });
		};
		if (entry?.delayMs) setTimeout(answer, entry.delayMs);
		else answer();
	});
}

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
	const doh = fakeDoh();
	await listen(doh);

	project.provide("localServers", {
		smtpStarttls: port(starttls.server),
		smtpTls: port(implicit.server),
		smtpGreylist: port(greylist.server),
		smtpClosing: port(closing),
		smtpInbox: port(inbox),
		ses: port(ses),
		doh: port(doh),
	});

	return async () => {
		await Promise.all([
			...[starttls, implicit, greylist].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
			...[closing, inbox, ses, doh].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
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
			doh: number;
		};
	}
}
