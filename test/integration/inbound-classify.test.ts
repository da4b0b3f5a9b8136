/// <reference types="vite/client" />
// POST /v1/inbound/classify: a raw bounce, complaint or auto-reply in, its classification out, with the
// body rules every route keeps (media type 415, empty 422, MAX_BODY_BYTES 413).
import { describe, expect, it } from "vitest";
import arf from "../fixtures/bounces/arf-14.eml?raw";
import exim from "../fixtures/bounces/lhost-exim-02.eml?raw";
import dsn from "../fixtures/bounces/rfc3464-01.eml?raw";
import outOfOffice from "../fixtures/bounces/rfc3834-02.eml?raw";
import { json, request } from "../helpers/worker";
import { createWorkspace, insertKey } from "../helpers/workspace";

type Answer = {
	kind: string;
	recipients: {
		recipient: string;
		action: string;
		status: string | null;
		reason: string;
		hard: boolean;
		diagnostic: string | null;
	}[];
	original_message_id: string | null;
	original_queue_id: string | null;
	feedback_type: string | null;
};

async function readerKey(): Promise<string> {
	const ws = await createWorkspace();
	return (await insertKey(ws.id, { scopes: ["email:read"] })).key;
}

function classifyRequest(key: string, rawBody: string, contentType = "message/rfc822", env = {}) {
	return request("/v1/inbound/classify", { key, rawBody, headers: { "content-type": contentType }, env });
}

/** A DSN of ours: the returned headers carry the X-Mail-Queue-ID that names the message. */
const OUR_DSN = [
	"From: MAILER-DAEMON@mx.example.net",
	"To: bounces+tok@bounces.example.test",
	"Subject: Undelivered Mail Returned to Sender",
	"MIME-Version: 1.0",
	'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
	"",
	"--b1",
	"Content-Type: text/plain",
	"",
	"Your message could not be delivered.",
	"--b1",
	"Content-Type: message/delivery-status",
	"",
	"Reporting-MTA: dns; mx.example.net",
	"",
	"Final-Recipient: rfc822; gone@example.net",
	"Action: failed",
	"Status: 5.1.1",
	"Diagnostic-Code: smtp; 550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown",
	"--b1",
	"Content-Type: text/rfc822-headers",
	"",
	"From: app@example.test",
	"To: gone@example.net",
	"Message-ID: <m1@example.test>",
	"X-Mail-Queue-ID: msg_01JZTESTQUEUEID",
	"--b1--",
	"",
].join("\r\n");

describe("POST /v1/inbound/classify", () => {
	it("classifies an RFC 3464 DSN per recipient", async () => {
		const res = await classifyRequest(await readerKey(), dsn);
		expect(res.status).toBe(200);
		const body = await json<Answer>(res);
		expect(body.kind).toBe("bounce");
		expect(body.recipients).toEqual([
			{
				recipient: "userunknown@bouncehammer.jp",
				action: "failed",
				status: "5.1.1",
				reason: "user_unknown",
				hard: true,
				diagnostic: "550 5.1.1 <userunknown@bouncehammer.jp>... User Unknown",
			},
		]);
		expect(body.original_message_id).toBe("<E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org>");
	});

	it("names our original message by its X-Mail-Queue-ID", async () => {
		const body = await json<Answer>(await classifyRequest(await readerKey(), OUR_DSN));
		expect(body).toMatchObject({
			kind: "bounce",
			original_message_id: "<m1@example.test>",
			original_queue_id: "msg_01JZTESTQUEUEID",
			recipients: [{ recipient: "gone@example.net", status: "5.1.1", reason: "user_unknown", hard: true }],
		});
	});

	it("reads a non-DSN form (Exim) with two recipients", async () => {
		const body = await json<Answer>(await classifyRequest(await readerKey(), exim, "text/plain"));
		expect(body.recipients.map((r) => [r.recipient, r.status, r.reason])).toEqual([
			["kijitora@example.jp", "5.1.1", "user_unknown"],
			["sabatora@example.jp", "5.2.1", "user_unknown"],
		]);
	});

	it("answers complaint for an ARF report and auto_reply for an out-of-office", async () => {
		const key = await readerKey();
		const complaint = await json<Answer>(await classifyRequest(key, arf));
		expect(complaint).toMatchObject({
			kind: "complaint",
			feedback_type: "abuse",
			recipients: [{ recipient: "kijitora@y.example.com", action: "complained", hard: false }],
		});
		const auto = await json<Answer>(await classifyRequest(key, outOfOffice));
		expect(auto).toMatchObject({ kind: "auto_reply", recipients: [] });
	});

	it("refuses JSON with 415, an empty body with 422 and a body above MAX_BODY_BYTES with 413", async () => {
		const key = await readerKey();
		const asJson = await classifyRequest(key, JSON.stringify({ raw: dsn }), "application/json");
		expect(asJson.status).toBe(415);
		expect((await json<{ error: { code: string } }>(asJson)).error.code).toBe("unsupported_media_type");
		const empty = await classifyRequest(key, "");
		expect(empty.status).toBe(422);
		const big = await classifyRequest(key, dsn, "message/rfc822", { MAX_BODY_BYTES: "1024" });
		expect(big.status).toBe(413);
		expect((await json<{ error: { code: string } }>(big)).error.code).toBe("payload_too_large");
		// The same message under the limit is classified: the 413 is the limit, not the message.
		expect((await classifyRequest(key, dsn, "message/rfc822", { MAX_BODY_BYTES: "100000" })).status).toBe(200);
	});

	it("is in the OpenAPI document", async () => {
		const doc = await json<{ paths: Record<string, unknown> }>(await request("/openapi.json"));
		expect(doc.paths["/v1/inbound/classify"]).toBeDefined();
	});
});
