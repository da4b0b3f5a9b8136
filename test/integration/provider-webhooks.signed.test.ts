// POST /v1/providers/{mailgun,sendgrid,resend}/webhook/{gatewayId} through the Worker: a valid
// signature changes the recipient, an invalid one is a 401 envelope that changes nothing, a replay
// is refused (Mailgun's token) or records nothing (SendGrid's and Resend's event ids).
import { describe, expect, it } from "vitest";
import { failingDb } from "../helpers/delivery";
import { mailgunBody, nowSeconds, sendgridKeys, svixHeaders, svixSecret } from "../helpers/provider-signing";
import { ANN, BEN, post, setProviderId, stateOf, webhookSetup } from "../helpers/provider-webhooks";
import { request } from "../helpers/worker";

const MAILGUN_KEY = "key-5b1d2c3e4f5061728394a5b6c7d8e9f0";

describe("Mailgun webhook", () => {
	const failed = (messageId: string, id: string) => ({
		id,
		event: "failed",
		severity: "permanent",
		reason: "bounce",
		timestamp: nowSeconds(),
		recipient: ANN,
		"user-variables": { "mq-message-id": messageId },
		"delivery-status": { code: 550, message: "5.1.1 The email account that you tried to reach does not exist." },
	});

	it("records a signed hard bounce: recipient bounced, event, suppression", async () => {
		const { ws, messageId, path } = await webhookSetup("mailgun", {
			api_key: "key-x",
			webhook_signing_key: MAILGUN_KEY,
		});
		const answer = await post(path, await mailgunBody(MAILGUN_KEY, failed(messageId, "mg-evt-1")));
		expect(answer).toEqual({ status: 200, body: { received: 1, recorded: 1 } });
		const state = await stateOf(ws.id, messageId);
		expect(state.recipients).toEqual([`${ANN}:bounced`, `${BEN}:sent`]);
		expect(state.events).toContain(`bounced:${ANN}`);
		expect(state.suppressions).toEqual([`${ANN}:hard_bounce`]);
	});

	it("answers 401 with the envelope to a wrong signature and changes nothing", async () => {
		const { ws, messageId, path } = await webhookSetup("mailgun", {
			api_key: "key-x",
			webhook_signing_key: MAILGUN_KEY,
		});
		const before = await stateOf(ws.id, messageId);
		const answer = await post(path, await mailgunBody("key-not-this-one", failed(messageId, "mg-evt-2")));
		expect(answer.status).toBe(401);
		expect(answer.body).toEqual({
			error: { code: "unauthorized", message: "The Mailgun signature does not match.", request_id: expect.any(String) },
		});
		const stale = await mailgunBody(MAILGUN_KEY, failed(messageId, "mg-evt-2"), { timestamp: nowSeconds() - 600 });
		expect((await post(path, stale)).status).toBe(401);
		expect(await stateOf(ws.id, messageId)).toEqual(before);
	});

	it("refuses a replayed request (same token) and records nothing more", async () => {
		const { ws, messageId, path } = await webhookSetup("mailgun", {
			api_key: "key-x",
			webhook_signing_key: MAILGUN_KEY,
		});
		const opened = {
			id: "mg-open-1",
			event: "opened",
			timestamp: nowSeconds(),
			recipient: BEN,
			"user-variables": { "mq-message-id": messageId },
		};
		const body = await mailgunBody(MAILGUN_KEY, opened);
		expect((await post(path, body)).body).toEqual({ received: 1, recorded: 1 });
		const after = await stateOf(ws.id, messageId);
		expect(after.events).toContain(`opened:${BEN}`);
		const replay = await post(path, body);
		expect(replay.status).toBe(401);
		expect(replay.body).toMatchObject({
			error: { code: "unauthorized", message: expect.stringMatching(/already used/) },
		});
		expect(await stateOf(ws.id, messageId)).toEqual(after);
	});

	it("answers 503 when the events cannot be written and forgets the token, so Mailgun's retry is recorded", async () => {
		const { ws, messageId, path } = await webhookSetup("mailgun", {
			api_key: "key-x",
			webhook_signing_key: MAILGUN_KEY,
		});
		const body = await mailgunBody(MAILGUN_KEY, failed(messageId, "mg-evt-4"));
		// D1 batches of this request: 1 claims the token, 2 is recordFeedback's write.
		const down = await request(path, { method: "POST", rawBody: body, env: { DB: failingDb([2]) } });
		expect(down.status).toBe(503);
		expect((await stateOf(ws.id, messageId)).recipients).toEqual([`${ANN}:sent`, `${BEN}:sent`]);
		expect(await post(path, body)).toEqual({ status: 200, body: { received: 1, recorded: 1 } });
		expect((await stateOf(ws.id, messageId)).recipients).toEqual([`${ANN}:bounced`, `${BEN}:sent`]);
	});

	it("answers 401 when the gateway has no signing key, and 404 for another gateway or type", async () => {
		const { messageId, path, gatewayId } = await webhookSetup("mailgun", { api_key: "key-x" });
		const body = await mailgunBody(MAILGUN_KEY, failed(messageId, "mg-evt-3"));
		expect(await post(path, body)).toMatchObject({
			status: 401,
			body: { error: { message: expect.stringMatching(/webhook_signing_key/) } },
		});
		expect((await post("/v1/providers/mailgun/webhook/gw_nope", body)).status).toBe(404);
		expect((await post(`/v1/providers/sendgrid/webhook/${gatewayId}`, body)).status).toBe(404);
	});
});

describe("SendGrid webhook", () => {
	it("records signed events found by custom arg and by sg_message_id; a replay records nothing; a bad signature is 401", async () => {
		const keys = await sendgridKeys();
		const { ws, messageId, path } = await webhookSetup("sendgrid", {
			api_key: "SG.x",
			webhook_public_key: keys.publicKey,
		});
		await setProviderId(messageId, "Xk1MsgIdFromSend");
		const body = JSON.stringify([
			{ email: ANN, event: "delivered", sg_event_id: "sg-1", timestamp: nowSeconds(), mq_message_id: messageId },
			// No custom arg: found by the X-Message-Id part of sg_message_id.
			{
				email: BEN,
				event: "spamreport",
				sg_event_id: "sg-2",
				timestamp: nowSeconds(),
				sg_message_id: "Xk1MsgIdFromSend.filter0001.1.2.0",
			},
		]);
		const tampered = body.replace("spamreport", "open");
		const bad = await post(path, tampered, await keys.headers(body));
		expect(bad.status).toBe(401);
		expect(bad.body).toMatchObject({ error: { code: "unauthorized" } });
		expect((await stateOf(ws.id, messageId)).recipients).toEqual([`${ANN}:sent`, `${BEN}:sent`]);

		const headers = await keys.headers(body);
		expect(await post(path, body, headers)).toEqual({ status: 200, body: { received: 2, recorded: 2 } });
		const after = await stateOf(ws.id, messageId);
		expect(after.recipients).toEqual([`${ANN}:delivered`, `${BEN}:complained`]);
		expect(after.suppressions).toEqual([`${BEN}:complaint`]);

		expect(await post(path, body, headers)).toEqual({ status: 200, body: { received: 2, recorded: 0 } });
		expect(await stateOf(ws.id, messageId)).toEqual(after);
	});
});

describe("SendGrid batches", () => {
	it("records a batch of 200 events in one request, finding message ids by sg_message_id in chunked lookups", async () => {
		const keys = await sendgridKeys();
		const { ws, messageId, path } = await webhookSetup("sendgrid", {
			api_key: "SG.x",
			webhook_public_key: keys.publicKey,
		});
		await setProviderId(messageId, "BatchMsgId");
		// 199 opens of messages sent elsewhere (unknown ids) and one of ours, found among them.
		const events = Array.from({ length: 200 }, (_, i) => ({
			email: i === 137 ? ANN : `other${i}@example.org`,
			event: "open",
			sg_event_id: `sg-batch-${i}`,
			timestamp: nowSeconds(),
			sg_message_id: i === 137 ? "BatchMsgId.filter0001.1.2.0" : `Unknown${i}.filter0001.1.2.0`,
		}));
		const body = JSON.stringify(events);
		const started = Date.now();
		const answer = await post(path, body, await keys.headers(body));
		const elapsed = Date.now() - started;
		expect(answer).toEqual({ status: 200, body: { received: 200, recorded: 200 } });
		expect((await stateOf(ws.id, messageId)).events).toContain(`opened:${ANN}`);
		console.log(`sendgrid batch of 200 events: ${elapsed} ms for the request`);
	});
});

describe("Resend webhook", () => {
	it("records a Svix-signed bounce; a replay (same svix-id) records nothing; a bad signature is 401", async () => {
		const secret = svixSecret();
		const { ws, messageId, path } = await webhookSetup("resend", { api_key: "re_x", webhook_secret: secret });
		const body = JSON.stringify({
			type: "email.bounced",
			created_at: new Date().toISOString(),
			data: {
				email_id: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
				to: [ANN],
				tags: [{ name: "mq_message_id", value: messageId }],
				bounce: { type: "Permanent", subType: "General", message: "The recipient's email address does not exist." },
			},
		});
		const bad = await post(path, body, await svixHeaders(svixSecret(), body));
		expect(bad.status).toBe(401);
		expect((await stateOf(ws.id, messageId)).events.some((e) => e.startsWith("bounced"))).toBe(false);

		const headers = await svixHeaders(secret, body, { id: "msg_resend_1" });
		expect(await post(path, body, headers)).toEqual({ status: 200, body: { received: 1, recorded: 1 } });
		const after = await stateOf(ws.id, messageId);
		expect(after.recipients).toEqual([`${ANN}:bounced`, `${BEN}:sent`]);
		// Resend retries with the same svix-id and a fresh signature: recorded once.
		const retry = await svixHeaders(secret, body, { id: "msg_resend_1" });
		expect(await post(path, body, retry)).toEqual({ status: 200, body: { received: 1, recorded: 0 } });
		expect(await stateOf(ws.id, messageId)).toEqual(after);
	});
});
