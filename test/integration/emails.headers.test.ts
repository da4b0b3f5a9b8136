// The custom-header policy and header injection: each refused header answers 422 header_not_allowed
// naming it, before anything is enqueued; allowed headers reach the rendered message.
import { describe, expect, it } from "vitest";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Envelope = { error: { code: string; message: string; details?: { path?: string }[] } };

async function send(headers: Record<string, string> | undefined, overrides: Record<string, unknown> = {}) {
	const ws = await createWorkspace();
	const queue = new RecordingQueue();
	const res = await request("/v1/emails", {
		key: ws.key,
		body: sampleEmail(ws.domain, { ...(headers ? { headers } : {}), ...overrides }),
		env: { SEND_QUEUE: queue },
	});
	return { ws, queue, res };
}

const REFUSED = [
	"Sender",
	"Return-Path",
	"Resent-From",
	"Resent-Message-ID",
	"DKIM-Signature",
	"Received",
	"X-Mail-Queue-ID",
	"X-Mail-Queue-Anything",
	"From",
	"to",
	"CC",
	"Bcc",
	"Subject",
	"Date",
	"Message-ID",
	"MIME-Version",
	"Content-Type",
	"Content-Transfer-Encoding",
	"Content-Disposition",
	"Reply-To",
	"Disposition-Notification-To",
	"Authentication-Results",
];

describe("custom headers", () => {
	for (const name of REFUSED) {
		it(`refuses ${name} with 422 header_not_allowed naming it`, async () => {
			const { queue, res } = await send({ [name]: "value" });
			expect(res.status).toBe(422);
			const body = await json<Envelope>(res);
			expect(body.error.code).toBe("header_not_allowed");
			expect(body.error.message).toContain(`headers.${name}`);
			expect(body.error.details?.[0]?.path).toBe(`headers.${name}`);
			expect(queue.sendCalls).toBe(0);
		});
	}

	it("refuses CR, LF and other control characters in a header value", async () => {
		for (const value of ["a\r\nBcc: x@y.test", "a\nb", "a\rb", "a\u0000b", "a\u2028b"]) {
			const { res } = await send({ "X-Thing": value });
			expect(res.status, JSON.stringify(value)).toBe(422);
			expect((await json<Envelope>(res)).error.message).toMatch(/X-Thing.*control characters/);
		}
	});

	it("refuses an invalid or duplicated header name", async () => {
		expect((await send({ "X Bad": "v" })).res.status).toBe(422);
		expect((await send({ "X-Colon:": "v" })).res.status).toBe(422);
		const dup = await send({ "X-Dup": "a", "x-dup": "b" });
		expect((await json<Envelope>(dup.res)).error.message).toMatch(/x-dup.*twice/);
	});

	it("caps the number of headers at 50 and a header line at 998 octets", async () => {
		const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`X-H${i}`, "v"]));
		expect((await send(fifty)).res.status).toBe(202);
		const tooMany = await send({ ...fifty, "X-H50": "v" });
		expect(tooMany.res.status).toBe(422);
		expect((await json<Envelope>(tooMany.res)).error.message).toMatch(/at most 50/);

		const name = "X-Long"; // 6 + ": " = 8 octets before the value
		expect((await send({ [name]: "v".repeat(990) })).res.status).toBe(202);
		const long = await send({ [name]: "v".repeat(991) });
		expect(long.res.status).toBe(422);
		expect((await json<Envelope>(long.res)).error.message).toMatch(/998 octets/);
		// Octets, not characters: 330 three-octet characters are 990 octets.
		expect((await send({ [name]: "界".repeat(331) })).res.status).toBe(422);
	});

	it("accepts X-*, List-*, threading and handling headers and renders them", async () => {
		const headers = {
			"X-Campaign": "spring",
			"List-Unsubscribe": "<https://example.test/u/1>, <mailto:u@example.test>",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"List-Id": "News <news.example.test>",
			"In-Reply-To": "<a@example.test>",
			References: "<a@example.test> <b@example.test>",
			"Auto-Submitted": "auto-generated",
			Precedence: "bulk",
			Importance: "high",
		};
		const { ws, queue, res } = await send(headers);
		expect(res.status).toBe(202);
		const { id } = await json<{ id: string }>(res);
		await runQueue("mq-send", queue.sent);
		const mime = await (await request(`/v1/emails/${id}/content`, { key: ws.key })).text();
		for (const [name, value] of Object.entries(headers)) expect(mime).toContain(`${name}: ${value}`);
	});
});

describe("header injection through message fields", () => {
	const injections: [string, Record<string, unknown>][] = [
		["subject", { subject: "Hi\r\nBcc: all@x.test" }],
		["subject (LF only)", { subject: "Hi\nX: y" }],
		["from display name", { from: "App\r\nBcc: all@x.test <app@DOMAIN>" }],
		["to display name", { to: ["Ada\nBcc: all@x.test <ada@x.test>"] }],
		["reply_to display name", { reply_to: "R\r <r@x.test>" }],
		["cc display name", { cc: '"C\r\nD" <c@x.test>' }],
	];
	for (const [field, overrides] of injections) {
		it(`refuses CR/LF in the ${field} with 422`, async () => {
			const ws = await createWorkspace();
			const queue = new RecordingQueue();
			const body = sampleEmail(ws.domain, overrides);
			if (typeof body.from === "string") body.from = body.from.replace("DOMAIN", ws.domain);
			const res = await request("/v1/emails", { key: ws.key, body, env: { SEND_QUEUE: queue } });
			expect(res.status).toBe(422);
			const error = (await json<Envelope>(res)).error;
			expect(error.code).toBe("validation_error");
			expect(error.message).toMatch(/control characters/);
			expect(queue.sendCalls).toBe(0);
		});
	}

	it("refuses a refused header inside one batch item only", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const res = await request("/v1/emails/batch", {
			key: ws.key,
			body: [sampleEmail(ws.domain, { headers: { Sender: "x@x.test" } }), sampleEmail(ws.domain)],
			env: { SEND_QUEUE: queue },
		});
		const body = await json<{ data: { error?: { code: string } }[]; accepted: number }>(res);
		expect(body.accepted).toBe(1);
		expect(body.data[0]?.error?.code).toBe("header_not_allowed");
		expect(queue.sent).toHaveLength(1);
	});
});
