// Reports other than a plain DSN: an out-of-office reply to a bounce address is kept and announced
// but is never a bounce; an ARF complaint at the feedback address finds its message by the quoted
// headers and counts only for a recipient of that message.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { arfReport, deliverEmail, dsn, outOfOffice } from "../helpers/inbound";
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

async function sendOne(ws: TestWorkspace, to: string) {
	const res = await exports.default.fetch(
		new Request("https://relay.test/v1/emails", {
			method: "POST",
			headers: { authorization: `Bearer ${ws.key}`, "content-type": "application/json" },
			body: JSON.stringify(sampleEmail(ws.domain, { to: [to] })),
		}),
	);
	const { id } = (await res.json()) as { id: string };
	let email = await getEmail(ws, id);
	for (let i = 0; i < 100 && email.status !== "sent"; i++) {
		await new Promise((r) => setTimeout(r, 100));
		email = await getEmail(ws, id);
	}
	expect(email.status).toBe("sent");
	return { id, email, original: { messageId: `<${id.toLowerCase()}@${ws.domain}>`, queueId: id } };
}

const suppression = (workspaceId: string, email: string) =>
	env.DB.prepare("SELECT reason FROM suppressions WHERE workspace_id = ? AND email = ?")
		.bind(workspaceId, email)
		.first<{ reason: string }>();

describe("reports that are not bounces", () => {
	it("keeps an out-of-office reply to the bounce address as auto_reply, without touching the recipient", async () => {
		const ws = await createWorkspace();
		const sent = await sendOne(ws, "ann@x.test");
		const path = sent.email.recipients[0]?.return_path ?? "";
		const got = await deliverEmail("ann@x.test", path, outOfOffice(path));
		expect(got).toEqual({ rejected: null, threw: null });
		const after = await getEmail(ws, sent.id);
		expect(after.recipients[0]?.status).toBe("sent");
		expect(after.events.map((e) => e.type)).toEqual(["queued", "processing", "sent", "inbound_received"]);
		expect(after.events.at(-1)?.data).toMatchObject({ kind: "auto_reply" });
		expect(await suppression(ws.id, "ann@x.test")).toBeNull();
		// The same address does change the recipient when what arrives is a bounce.
		await deliverEmail("", path, dsn(path, "ann@x.test", sent.original));
		expect((await getEmail(ws, sent.id)).recipients[0]?.status).toBe("bounced");
	});

	it("records an ARF complaint at the feedback address for the recipient of the quoted message", async () => {
		const ws = await createWorkspace();
		const sent = await sendOne(ws, "grumpy@x.test");
		const fbl = "fbl@bounces.example.test";
		// About someone who never got the message: nothing.
		await deliverEmail("feedbackloop@isp.test", fbl, arfReport(fbl, "other@x.test", sent.original));
		expect(await suppression(ws.id, "other@x.test")).toBeNull();
		const got = await deliverEmail("feedbackloop@isp.test", fbl, arfReport(fbl, "grumpy@x.test", sent.original));
		expect(got).toEqual({ rejected: null, threw: null });
		const after = await getEmail(ws, sent.id);
		expect(after.events.find((e) => e.type === "complained")?.recipient).toBe("grumpy@x.test");
		expect(await suppression(ws.id, "grumpy@x.test")).toEqual({ reason: "complaint" });
	});

	it("refuses a report at the feedback address that names no message of the relay", async () => {
		const fbl = "fbl@bounces.example.test";
		const original = { messageId: "<nothing@elsewhere.test>", queueId: "not-ours" };
		const got = await deliverEmail("feedbackloop@isp.test", fbl, arfReport(fbl, "x@x.test", original));
		expect(got.rejected).toBe("550 5.6.0 The report names no message of this relay");
	});
});
