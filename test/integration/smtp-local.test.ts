// SMTP end to end against real smtp-server instances on 127.0.0.1 (started by the globalSetup):
// STARTTLS with a verified certificate, AUTH, one result per RCPT, dot-stuffing, 451 and 421.
import { beforeEach, describe, expect, inject, it } from "vitest";
import { createSmtpGateway } from "../../src/providers/smtp";
import { build, envelopeOf, sampleMessage, signal } from "../helpers/providers";

const servers = inject("localServers");
const USER = "relay";
const PASSWORD = "correct horse battery staple";
type Received = { port: number; from: string; to: string[]; data: string; user: string | null; secure: boolean };

const inbox = async (): Promise<Received[]> => (await fetch(`http://127.0.0.1:${servers.smtpInbox}/`)).json();
const smtp = (
	port: number,
	security: "starttls" | "tls" | "none",
	credentials: Record<string, string> = { username: USER, password: PASSWORD },
) =>
	build(
		createSmtpGateway,
		{ type: "smtp", config: { host: "127.0.0.1", port, security, helo: "relay.test" }, credentials },
		fetch,
	);

describe("smtp driver against a local smtp-server", () => {
	beforeEach(async () => {
		await fetch(`http://127.0.0.1:${servers.smtpInbox}/`, { method: "DELETE" });
	});

	it("upgrades with STARTTLS, authenticates, and answers per RCPT: one refused, two sent", async () => {
		const message = sampleMessage();
		const result = await smtp(servers.smtpStarttls, "starttls").send(
			message,
			envelopeOf("ada@example.org", "refused@example.org", "bob@example.org"),
			signal(),
		);
		expect(result.recipients).toEqual([
			{
				email: "ada@example.org",
				status: "accepted",
				providerMessageId: "LOCAL1",
				response: "250 2.0.0 Ok: queued as LOCAL1",
			},
			{ email: "refused@example.org", status: "permanent", response: "550 5.1.1 <refused> User unknown" },
			{
				email: "bob@example.org",
				status: "accepted",
				providerMessageId: "LOCAL1",
				response: "250 2.0.0 Ok: queued as LOCAL1",
			},
		]);
		const [got] = await inbox();
		expect(got).toMatchObject({
			from: "bounce+msg_01TEST@example.test",
			to: ["ada@example.org", "bob@example.org"],
			user: USER,
			secure: true,
		});
		// The server un-stuffs the leading dot, so the body arrives byte for byte as rendered.
		expect(got?.data).toBe(message.raw);
	});

	it("speaks implicit TLS", async () => {
		const result = await smtp(servers.smtpTls, "tls").send(sampleMessage(), envelopeOf("ada@example.org"), signal());
		expect(result.recipients[0]?.status).toBe("accepted");
		expect((await inbox())[0]).toMatchObject({ secure: true, user: USER });
	});

	it("answers wrong credentials as auth, for every recipient", async () => {
		const result = await smtp(servers.smtpStarttls, "starttls", { username: USER, password: "wrong" }).send(
			sampleMessage(),
			envelopeOf("ada@example.org", "bob@example.org"),
			signal(),
		);
		expect(result.recipients.map((r) => r.status)).toEqual(["auth", "auth"]);
		expect(JSON.stringify(result)).not.toContain("wrong");
		expect(await inbox()).toEqual([]);
	});

	it("treats 451 at RCPT as temporary and sends nothing", async () => {
		const result = await smtp(servers.smtpGreylist, "starttls").send(
			sampleMessage(),
			envelopeOf("ada@example.org"),
			signal(),
		);
		expect(result.recipients).toEqual([
			{ email: "ada@example.org", status: "temporary", response: "451 4.7.1 Greylisted, try again later" },
		]);
		expect(await inbox()).toEqual([]);
	});

	it("keeps a temporary RCPT refusal apart from the recipients that were sent", async () => {
		const result = await smtp(servers.smtpStarttls, "starttls").send(
			sampleMessage(),
			envelopeOf("later@example.org", "ada@example.org"),
			signal(),
		);
		expect(result.recipients.map((r) => [r.email, r.status])).toEqual([
			["later@example.org", "temporary"],
			["ada@example.org", "accepted"],
		]);
	});

	it("treats a 421 greeting as temporary for everyone", async () => {
		const result = await smtp(servers.smtpClosing, "none", {}).send(
			sampleMessage(),
			envelopeOf("a@b.test", "c@d.test"),
			signal(),
		);
		expect(result.recipients).toEqual([
			{ email: "a@b.test", status: "temporary", response: "421 4.3.2 Service shutting down, try later" },
			{ email: "c@d.test", status: "temporary", response: "421 4.3.2 Service shutting down, try later" },
		]);
	});

	it("checks with EHLO, STARTTLS and AUTH", async () => {
		expect(await smtp(servers.smtpStarttls, "starttls").check?.(signal())).toEqual({
			ok: true,
			detail: `127.0.0.1:${servers.smtpStarttls} starttls: authenticated`,
		});
		const bad = await smtp(servers.smtpStarttls, "starttls", { username: USER, password: "nope-nope" }).check?.(
			signal(),
		);
		expect(bad?.ok).toBe(false);
		expect(bad?.detail).toMatch(/^535 /);
	});
});
