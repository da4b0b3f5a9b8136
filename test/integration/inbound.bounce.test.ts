// The bounce loop end to end on the real queues: send → the message leaves with its VERP
// Return-Path → a DSN to that address reaches email() → `bounced` event, recipient bounced,
// suppressed → the next send skips the address. A forged token changes nothing.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliverEmail, dsn } from "../helpers/inbound";
import { sampleEmail } from "../helpers/worker";
import { createWorkspace, type TestWorkspace } from "../helpers/workspace";

type Email = {
	status: string;
	events: { type: string; recipient: string | null; data: Record<string, unknown> }[];
	recipients: { email: string; status: string; return_path: string }[];
};

async function getEmail(ws: TestWorkspace, id: string): Promise<Email> {
	const res = await exports.default.fetch(
		new Request(`https://relay.test/v1/emails/${id}`, { headers: { authorization: `Bearer ${ws.key}` } }),
	);
	return (await res.json()) as Email;
}

/** Sends through the API and the real send queue, and waits until the consumer has settled it. */
async function send(ws: TestWorkspace, to: string[]): Promise<{ id: string; email: Email }> {
	const res = await exports.default.fetch(
		new Request("https://relay.test/v1/emails", {
			method: "POST",
			headers: { authorization: `Bearer ${ws.key}`, "content-type": "application/json" },
			body: JSON.stringify(sampleEmail(ws.domain, { to })),
		}),
	);
	expect(res.status).toBe(202);
	const { id } = (await res.json()) as { id: string };
	let email = await getEmail(ws, id);
	for (let i = 0; i < 100 && !["sent", "bounced", "rejected", "failed"].includes(email.status); i++) {
		await new Promise((r) => setTimeout(r, 100));
		email = await getEmail(ws, id);
	}
	return { id, email };
}

const suppressed = (workspaceId: string, email: string) =>
	env.DB.prepare("SELECT reason FROM suppressions WHERE workspace_id = ? AND email = ?")
		.bind(workspaceId, email)
		.first<{ reason: string }>();

describe("a VERP bounce through email()", () => {
	it("bounces and suppresses the recipient, so the next send skips it; a forged token changes nothing", async () => {
		const ws = await createWorkspace();
		const first = await send(ws, ["dead@x.test"]);
		expect(first.email.status).toBe("sent");
		const returnPath = first.email.recipients[0]?.return_path ?? "";
		expect(returnPath).toMatch(/^bounces\+[0-9a-z]{50}@bounces\.example\.test$/);
		// The sandbox captured what a real gateway would have sent: MAIL FROM is the VERP address.
		const captured = await env.BODIES.head(`mime/${ws.id}/${first.id}.eml`);
		expect(captured?.customMetadata?.envelopeFrom).toBe(returnPath);
		const original = { messageId: `<${first.id.toLowerCase()}@${ws.domain}>`, queueId: first.id };

		// A forged token (one character of the HMAC changed): refused like an unknown mailbox, nothing recorded.
		const at = returnPath.indexOf("@");
		const flipped = returnPath[at - 1] === "0" ? "1" : "0";
		const forgedAddress = `${returnPath.slice(0, at - 1)}${flipped}${returnPath.slice(at)}`;
		const forged = await deliverEmail("", forgedAddress, dsn(forgedAddress, "dead@x.test", original));
		expect(forged).toEqual({ rejected: "550 5.1.1 No such recipient here", threw: null });
		const untouched = await getEmail(ws, first.id);
		expect(untouched.recipients[0]?.status).toBe("sent");
		expect(untouched.events.map((e) => e.type)).toEqual(first.email.events.map((e) => e.type));
		expect(await suppressed(ws.id, "dead@x.test")).toBeNull();

		// The real bounce, to the real Return-Path.
		const bounced = await deliverEmail("", returnPath, dsn(returnPath, "dead@x.test", original));
		expect(bounced).toEqual({ rejected: null, threw: null });
		const after = await getEmail(ws, first.id);
		expect(after.recipients[0]?.status).toBe("bounced");
		const event = after.events.find((e) => e.type === "bounced");
		expect(event?.recipient).toBe("dead@x.test");
		expect(event?.data).toMatchObject({
			kind: "hard_bounce",
			reason: "user_unknown",
			status: "5.1.1",
			source: "email",
		});
		expect(await suppressed(ws.id, "dead@x.test")).toEqual({ reason: "hard_bounce" });
		const stored = await env.DB.prepare("SELECT kind, message_id FROM inbound_messages WHERE workspace_id = ?")
			.bind(ws.id)
			.all<{ kind: string; message_id: string }>();
		expect(stored.results).toEqual([{ kind: "bounce", message_id: first.id }]);

		// The same DSN again (an MTA retry) records nothing new.
		await deliverEmail("", returnPath, dsn(returnPath, "dead@x.test", original));
		const again = await getEmail(ws, first.id);
		expect(again.events.filter((e) => e.type === "bounced")).toHaveLength(1);

		// The next send skips the dead address and delivers to the other.
		const next = await send(ws, ["dead@x.test", "alive@x.test"]);
		const byEmail = new Map(next.email.recipients.map((r) => [r.email, r.status]));
		expect(byEmail.get("alive@x.test")).toBe("sent");
		expect(byEmail.get("dead@x.test")).not.toBe("sent");
		expect(next.email.events.some((e) => e.type === "suppressed" && e.recipient === "dead@x.test")).toBe(true);
	});

	it("takes a message-level token's bounce only for a recipient of that message", async () => {
		const ws = await createWorkspace();
		const sent = await send(ws, ["one@x.test", "two@x.test"]);
		const [one, two] = sent.email.recipients;
		expect(one?.return_path).toBe(two?.return_path);
		expect(one?.return_path).toMatch(/^bounces\+[0-9a-z]{44}@bounces\.example\.test$/);
		const path = one?.return_path ?? "";
		const original = { messageId: `<${sent.id.toLowerCase()}@${ws.domain}>`, queueId: sent.id };
		// A DSN naming someone who was never a recipient changes nothing …
		await deliverEmail("", path, dsn(path, "stranger@x.test", original));
		expect(await suppressed(ws.id, "stranger@x.test")).toBeNull();
		// … one naming a recipient bounces that recipient only.
		await deliverEmail("", path, dsn(path, "two@x.test", original));
		const after = await getEmail(ws, sent.id);
		expect(new Map(after.recipients.map((r) => [r.email, r.status]))).toEqual(
			new Map([
				["one@x.test", "sent"],
				["two@x.test", "bounced"],
			]),
		);
	});
});
