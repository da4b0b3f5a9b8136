// Postmark's API: X-Postmark-Server-Token, its PascalCase body mapped onto the one send path, its
// answer per message and its `{ErrorCode, Message}` errors with Postmark's codes.
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

const token = (key: string) => ({ "x-postmark-server-token": key });

function message(domain: string, overrides: Record<string, unknown> = {}) {
	return {
		From: `App <app@${domain}>`,
		To: 'ada@example.net, "Doe, Jo" <jo@example.net>',
		Cc: "cc@example.net",
		ReplyTo: "help@example.net",
		Subject: "Receipt",
		HtmlBody: "<p>Thanks</p>",
		TextBody: "Thanks",
		Headers: [{ Name: "X-Order", Value: "42" }],
		Tag: "receipt",
		Metadata: { order: "42" },
		MessageStream: "outbound",
		...overrides,
	};
}

type Answer = { To: string; SubmittedAt: string; MessageID: string; ErrorCode: number; Message: string };

describe("Postmark POST /email", () => {
	it("answers {To, SubmittedAt, MessageID, ErrorCode: 0, Message: OK} and the mapped message reaches sent", async () => {
		const ws = await createWorkspace();
		const sent = await compatRequest("/email", { headers: token(ws.key), body: message(ws.domain) });
		expect(sent.res.status).toBe(200);
		const body = await json<Answer>(sent.res);
		expect(body).toMatchObject({ ErrorCode: 0, Message: "OK", To: 'ada@example.net, "Doe, Jo" <jo@example.net>' });
		expect(Date.parse(body.SubmittedAt)).not.toBeNaN();
		expect(sent.jobs[0]?.message).toMatchObject({
			to: [{ email: "ada@example.net" }, { email: "jo@example.net", name: "Doe, Jo" }],
			cc: [{ email: "cc@example.net" }],
			replyTo: [{ email: "help@example.net" }],
			html: "<p>Thanks</p>",
			text: "Thanks",
			headers: { "X-Order": "42" },
			tags: ["receipt"],
			metadata: { order: "42" },
		});
		await expectDelivered(sent, ws.key, [body.MessageID]);
	});

	it("carries Attachments, inline by ContentID (bare or cid:), into the delivered MIME", async () => {
		const ws = await createWorkspace();
		const body = message(ws.domain, {
			HtmlBody: '<p>Thanks <img src="cid:logo"></p>',
			Attachments: [
				{ Name: "invoice.pdf", Content: PDF_BASE64, ContentType: "application/pdf" },
				{ Name: "logo.png", Content: PNG_BASE64, ContentType: "image/png", ContentID: "cid:logo" },
			],
		});
		const sent = await compatRequest("/email", { headers: token(ws.key), body });
		expect(sent.res.status).toBe(200);
		const { MessageID } = await json<Answer>(sent.res);
		const [mime = ""] = await deliveredMime(sent, ws.key, [MessageID]);
		expectFiles(mime);
	});

	it("answers Postmark's error codes: 300 invalid, 400 sender signature, 1235 stream, 402 JSON, 10 token", async () => {
		const ws = await createWorkspace();
		const readOnly = await insertKey(ws.id, { scopes: ["email:read"] });
		const cases: [Record<string, string>, unknown, number, number][] = [
			[token(ws.key), message(ws.domain, { To: "nobody" }), 422, 300],
			[token(ws.key), message(ws.domain, { Attachments: [{ Name: "a.txt", Content: "not base64!" }] }), 422, 300],
			[token(ws.key), message(ws.domain, { Attachments: [{ Content: "aGk=" }] }), 422, 300],
			[token(ws.key), message(ws.domain, { TrackOpens: true }), 422, 300],
			[token(ws.key), message(ws.domain, { InlineCss: true }), 422, 300],
			[token(ws.key), message(ws.domain, { From: "app@not-ours.test" }), 422, 400],
			[token(ws.key), message(ws.domain, { MessageStream: "broadcast" }), 422, 1235],
			[{}, message(ws.domain), 401, 10],
			[token("mq_test_wrongwrongwrongwrongwrongwrongwr"), message(ws.domain), 401, 10],
			[token(readOnly.key), message(ws.domain), 401, 10],
		];
		for (const [headers, body, status, code] of cases) {
			const sent = await compatRequest("/email", { headers, body });
			expect(sent.res.status).toBe(status);
			const answer = await json<{ ErrorCode: number; Message: string }>(sent.res);
			expect(answer.ErrorCode).toBe(code);
			expect(answer.Message.length).toBeGreaterThan(0);
			expect(sent.jobs).toHaveLength(0);
		}
		const broken = await compatRequest("/email", {
			headers: { ...token(ws.key), "content-type": "application/json" },
			rawBody: '{"From": ',
		});
		expect(broken.res.status).toBe(422);
		expect((await json<{ ErrorCode: number }>(broken.res)).ErrorCode).toBe(402);
	});

	it("checks the token before reading the body, and refuses a key of another workspace for this sender", async () => {
		const ws = await createWorkspace();
		const other = await createWorkspace();
		const unread = await compatRequest("/email", { headers: { "content-type": "application/json" }, rawBody: "{" });
		expect(unread.res.status).toBe(401);
		const foreign = await compatRequest("/email", { headers: token(other.key), body: message(ws.domain) });
		expect(foreign.res.status).toBe(422);
		expect((await json<{ ErrorCode: number }>(foreign.res)).ErrorCode).toBe(400);
		expect(foreign.jobs).toHaveLength(0);
	});
});

describe("Postmark POST /email/batch", () => {
	it("answers one result per message in order; a bad message fails alone with its own ErrorCode", async () => {
		const ws = await createWorkspace();
		const batch = [
			message(ws.domain, { To: "a@example.net", Subject: "A" }),
			message(ws.domain, { To: "nobody" }),
			message(ws.domain, { To: "c@example.net", Subject: "C", From: "x@not-ours.test" }),
			message(ws.domain, { To: "d@example.net", Subject: "D" }),
		];
		const sent = await compatRequest("/email/batch", { headers: token(ws.key), body: batch });
		expect(sent.res.status).toBe(200);
		const answers = await json<Answer[]>(sent.res);
		expect(answers.map((a) => a.ErrorCode)).toEqual([0, 300, 400, 0]);
		expect(answers[0]?.To).toBe("a@example.net");
		const ids = [answers[0]?.MessageID ?? "", answers[3]?.MessageID ?? ""];
		const byId = new Map(sent.jobs.map((j) => [j.id, j.message?.subject]));
		expect(ids.map((id) => byId.get(id))).toEqual(["A", "D"]);
		await expectDelivered(sent, ws.key, ids);
	});
});
