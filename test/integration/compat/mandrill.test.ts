// Mandrill's messages/send: the key in the body, one message per recipient unless
// preserve_recipients, one result per recipient, and Mandrill's errors (HTTP 500, named).
import { describe, expect, it } from "vitest";
import {
	compatRequest,
	deliveredMime,
	expectDelivered,
	expectFiles,
	PDF_BASE64,
	PNG_BASE64,
} from "../../helpers/compat";
import { json } from "../../helpers/worker";
import { createWorkspace, insertKey } from "../../helpers/workspace";

function call(key: string | undefined, domain: string, overrides: Record<string, unknown> = {}) {
	return {
		...(key !== undefined ? { key } : {}),
		message: {
			from_email: `app@${domain}`,
			from_name: "App",
			to: [
				{ email: "ada@example.net", name: "Ada", type: "to" },
				{ email: "bob@example.net", type: "cc" },
			],
			subject: "Hello",
			html: "<p>Hi</p>",
			text: "Hi",
			headers: { "Reply-To": "help@example.net", "X-Campaign": "spring" },
			tags: ["welcome"],
			metadata: { user: "7" },
			recipient_metadata: [{ rcpt: "bob@example.net", values: { user: "8" } }],
			track_opens: null,
			auto_text: false,
			...overrides,
		},
	};
}

type Result = { email: string; status: string; _id: string | null; reject_reason: string | null };
const PATH = "/api/1.0/messages/send.json";

describe("Mandrill POST /api/1.0/messages/send.json", () => {
	it("gives each recipient its own message and answers one queued result per recipient", async () => {
		const ws = await createWorkspace();
		const sent = await compatRequest(PATH, { body: call(ws.key, ws.domain) });
		expect(sent.res.status).toBe(200);
		const results = await json<Result[]>(sent.res);
		expect(results.map((r) => [r.email, r.status, r.reject_reason])).toEqual([
			["ada@example.net", "queued", null],
			["bob@example.net", "queued", null],
		]);
		const byId = new Map(sent.jobs.map((j) => [j.id, j.message]));
		expect(results.map((r) => byId.get(r._id ?? ""))).toMatchObject([
			{
				from: { email: `app@${ws.domain}`, name: "App" },
				to: [{ email: "ada@example.net", name: "Ada" }],
				cc: [],
				replyTo: [{ email: "help@example.net" }],
				headers: { "X-Campaign": "spring" },
				tags: ["welcome"],
				metadata: { user: "7" },
			},
			{ to: [{ email: "bob@example.net" }], metadata: { user: "8" } },
		]);
		await expectDelivered(
			sent,
			ws.key,
			results.map((r) => r._id ?? ""),
		);
	});

	it("with preserve_recipients sends one message to all, by type, at /messages/send too", async () => {
		const ws = await createWorkspace();
		const sent = await compatRequest("/api/1.0/messages/send", {
			body: call(ws.key, ws.domain, { preserve_recipients: true }),
		});
		const results = await json<Result[]>(sent.res);
		expect(new Set(results.map((r) => r._id)).size).toBe(1);
		expect(sent.jobs[0]?.message).toMatchObject({
			to: [{ email: "ada@example.net" }],
			cc: [{ email: "bob@example.net" }],
		});
	});

	it("marks a bad address invalid and an unverified sending domain rejected/unsigned, per recipient", async () => {
		const ws = await createWorkspace();
		const to = [{ email: "ada@example.net" }, { email: "nobody" }];
		const mixed = await compatRequest(PATH, { body: call(ws.key, ws.domain, { to }) });
		expect((await json<Result[]>(mixed.res)).map((r) => r.status)).toEqual(["queued", "invalid"]);
		expect(mixed.jobs).toHaveLength(1);
		const alone = await compatRequest(PATH, { body: call(ws.key, ws.domain, { to: [{ email: "nobody" }] }) });
		expect(alone.res.status).toBe(200);
		expect((await json<Result[]>(alone.res)).map((r) => r.status)).toEqual(["invalid"]);
		// With preserve_recipients the one message cannot go without the bad address: the call fails.
		const together = await compatRequest(PATH, { body: call(ws.key, ws.domain, { to, preserve_recipients: true }) });
		expect(together.res.status).toBe(500);
		expect(await json(together.res)).toMatchObject({ name: "ValidationError" });
		expect(together.jobs).toHaveLength(0);
		const unsigned = await compatRequest(PATH, { body: call(ws.key, ws.domain, { from_email: "app@not-ours.test" }) });
		expect(unsigned.res.status).toBe(200);
		expect(await json<Result[]>(unsigned.res)).toEqual([
			{ email: "ada@example.net", status: "rejected", _id: null, reject_reason: "unsigned" },
			{ email: "bob@example.net", status: "rejected", _id: null, reject_reason: "unsigned" },
		]);
		expect(unsigned.jobs).toHaveLength(0);
	});

	it("carries attachments and images (inline, Content-ID = name) into each recipient's MIME", async () => {
		const ws = await createWorkspace();
		const body = call(ws.key, ws.domain, {
			html: '<p>Hi <img src="cid:logo.png"></p>',
			attachments: [{ type: "application/pdf", name: "invoice.pdf", content: PDF_BASE64 }],
			images: [{ type: "image/png", name: "logo.png", content: PNG_BASE64 }],
		});
		const sent = await compatRequest(PATH, { body });
		expect(sent.res.status).toBe(200);
		const results = await json<Result[]>(sent.res);
		const mimes = await deliveredMime(
			sent,
			ws.key,
			results.map((r) => r._id ?? ""),
		);
		expect(mimes).toHaveLength(2);
		for (const mime of mimes) expectFiles(mime, "logo.png");
	});

	it("answers Mandrill's errors with HTTP 500: Invalid_Key for a missing, wrong or under-scoped key, ValidationError otherwise", async () => {
		const ws = await createWorkspace();
		const readOnly = await insertKey(ws.id, { scopes: ["email:read"] });
		const cases: [unknown, string][] = [
			[call(undefined, ws.domain), "Invalid_Key"],
			[call("mq_test_wrongwrongwrongwrongwrongwrongwr", ws.domain), "Invalid_Key"],
			[call(readOnly.key, ws.domain), "Invalid_Key"],
			[call(ws.key, ws.domain, { subject: "" }), "ValidationError"],
			[
				call(ws.key, ws.domain, { attachments: [{ type: "text/plain", name: "a.txt", content: "not base64!" }] }),
				"ValidationError",
			],
			[call(ws.key, ws.domain, { images: [{ type: "text/plain", name: "logo", content: "aGk=" }] }), "ValidationError"],
			[call(ws.key, ws.domain, { merge_vars: [{ rcpt: "ada@example.net", vars: [] }] }), "ValidationError"],
			[call(ws.key, ws.domain, { track_clicks: true }), "ValidationError"],
			[call(ws.key, ws.domain, { unknown_option: 1 }), "ValidationError"],
		];
		for (const [body, name] of cases) {
			const sent = await compatRequest(PATH, { body });
			expect(sent.res.status).toBe(500);
			const answer = await json<{ status: string; code: number; name: string; message: string }>(sent.res);
			expect(answer).toMatchObject({ status: "error", name, code: name === "Invalid_Key" ? -1 : -2 });
			expect(sent.jobs).toHaveLength(0);
		}
	});
});
