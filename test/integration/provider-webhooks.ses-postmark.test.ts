// POST /v1/providers/{ses,postmark}/webhook/{gatewayId} through the Worker. SES arrives through SNS:
// the signature is checked against the fixture certificate served at an sns.us-east-1.amazonaws.com
// URL (intercepted fetch), a certificate elsewhere is refused without being fetched, the
// subscription is confirmed. Postmark authenticates with the gateway's basic auth credentials.
import { afterEach, describe, expect, it, vi } from "vitest";
import { basicAuth, interceptSns, SNS_CERT_URL, snsBody } from "../helpers/provider-signing";
import { ANN, BEN, post, setProviderId, stateOf, webhookSetup } from "../helpers/provider-webhooks";

afterEach(() => vi.restoreAllMocks());

const TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events";
const SES_CREDENTIALS = { access_key_id: "AKIAEXAMPLE", secret_access_key: "secret", sns_topic_arn: TOPIC };

const sesBounce = (providerId: string, tags?: Record<string, string[]>) =>
	JSON.stringify({
		notificationType: "Bounce",
		mail: {
			timestamp: new Date().toISOString(),
			messageId: providerId,
			destination: [ANN, BEN],
			...(tags ? { tags } : {}),
		},
		bounce: {
			bounceType: "Permanent",
			bounceSubType: "General",
			bouncedRecipients: [
				{ emailAddress: ANN, action: "failed", status: "5.1.1", diagnosticCode: "smtp; 550 5.1.1 user unknown" },
			],
			timestamp: new Date().toISOString(),
		},
	});

describe("SES webhook (SNS)", () => {
	it("confirms a signed subscription by fetching its SubscribeURL", async () => {
		const { fetched } = interceptSns();
		const { path } = await webhookSetup("ses", SES_CREDENTIALS);
		const subscribe = `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=abc`;
		const body = await snsBody({
			Type: "SubscriptionConfirmation",
			Message: "You have chosen to subscribe…",
			SubscribeURL: subscribe,
			Token: "abc",
			TopicArn: TOPIC,
		});
		expect(await post(path, body, { "content-type": "text/plain; charset=UTF-8" })).toEqual({
			status: 200,
			body: { received: 0, recorded: 0, subscription_confirmed: true },
		});
		expect(fetched).toContain(subscribe);
	});

	it("records a signed bounce found by provider message id (no tags); a replay records nothing", async () => {
		interceptSns();
		const { ws, messageId, path } = await webhookSetup("ses", SES_CREDENTIALS);
		await setProviderId(messageId, "0100018c-0000-4000-8000-000000000001-000000");
		const body = await snsBody(
			{ Type: "Notification", Message: sesBounce("0100018c-0000-4000-8000-000000000001-000000"), TopicArn: TOPIC },
			"1",
		);
		expect(await post(path, body, { "content-type": "text/plain; charset=UTF-8" })).toEqual({
			status: 200,
			body: { received: 1, recorded: 1 },
		});
		const after = await stateOf(ws.id, messageId);
		expect(after.recipients).toEqual([`${ANN}:bounced`, `${BEN}:sent`]);
		expect(after.suppressions).toEqual([`${ANN}:hard_bounce`]);
		// SNS retries the same MessageId with the same signature.
		expect(await post(path, body)).toEqual({ status: 200, body: { received: 1, recorded: 0 } });
		expect(await stateOf(ws.id, messageId)).toEqual(after);
	});

	it("refuses a changed message, another topic and a certificate on another host (not fetched)", async () => {
		const { fetched } = interceptSns();
		const { ws, messageId, path } = await webhookSetup("ses", SES_CREDENTIALS);
		const tags = { mq_message_id: [messageId] };
		const before = await stateOf(ws.id, messageId);

		const changed = JSON.parse(await snsBody({ Type: "Notification", Message: "{}", TopicArn: TOPIC }));
		changed.Message = sesBounce("x", tags);
		expect((await post(path, JSON.stringify(changed))).status).toBe(401);

		const otherTopic = await snsBody({
			Type: "Notification",
			Message: sesBounce("x", tags),
			TopicArn: `${TOPIC}-other`,
		});
		expect((await post(path, otherTopic)).status).toBe(401);

		const fetchedBefore = fetched.length;
		const evilCert = await snsBody({
			Type: "Notification",
			Message: sesBounce("x", tags),
			TopicArn: TOPIC,
			SigningCertURL: "https://sns.us-east-1.amazonaws.com.attacker.test/SimpleNotificationService-x.pem",
		});
		const refused = await post(path, evilCert);
		expect(refused.status).toBe(401);
		expect(refused.body).toMatchObject({
			error: { code: "unauthorized", message: expect.stringMatching(/SigningCertURL/) },
		});
		expect(fetched.slice(fetchedBefore)).toEqual([]);
		expect(fetched.every((u) => u === SNS_CERT_URL)).toBe(true);
		expect(await stateOf(ws.id, messageId)).toEqual(before);

		// The same bounce, properly signed, does change the recipient.
		const good = await snsBody({ Type: "Notification", Message: sesBounce("x", tags), TopicArn: TOPIC });
		expect((await post(path, good)).body).toEqual({ received: 1, recorded: 1 });
		expect((await stateOf(ws.id, messageId)).recipients).toEqual([`${ANN}:bounced`, `${BEN}:sent`]);
	});
});

describe("SES webhook without a pinned topic", () => {
	it("takes only events about the workspace's own messages", async () => {
		interceptSns();
		const unpinned = await webhookSetup("ses", { access_key_id: "AKIAEXAMPLE", secret_access_key: "secret" });
		const stranger = await snsBody({ Type: "Notification", Message: sesBounce("not-one-of-ours"), TopicArn: TOPIC });
		expect((await post(unpinned.path, stranger)).body).toEqual({ received: 1, recorded: 0 });
		expect((await stateOf(unpinned.ws.id, unpinned.messageId)).suppressions).toEqual([]);
		// Its own message's bounce is taken.
		const own = await snsBody({
			Type: "Notification",
			Message: sesBounce("x", { mq_message_id: [unpinned.messageId] }),
		});
		expect((await post(unpinned.path, own)).body).toEqual({ received: 1, recorded: 1 });
		// With the topic pinned, the stranger's bounce suppresses the address (as a bounce by mail would).
		const pinned = await webhookSetup("ses", SES_CREDENTIALS);
		const again = await snsBody({ Type: "Notification", Message: sesBounce("not-one-of-ours"), TopicArn: TOPIC });
		expect((await post(pinned.path, again)).body).toEqual({ received: 1, recorded: 1 });
		expect((await stateOf(pinned.ws.id, pinned.messageId)).suppressions).toEqual([`${ANN}:hard_bounce`]);
	});
});

describe("Postmark webhook", () => {
	const credentials = {
		server_token: "pm-token",
		webhook_username: "hooks",
		webhook_password: "correct-horse-battery",
	};
	const bounce = (messageId: string) =>
		JSON.stringify({
			RecordType: "Bounce",
			ID: 4323372036,
			Type: "HardBounce",
			TypeCode: 1,
			MessageID: "883953f4-6105-42a2-a16a-77a8eac79483",
			Details: "smtp;550 5.1.1 The email account that you tried to reach does not exist",
			Email: BEN,
			BouncedAt: new Date().toISOString(),
			Metadata: { mq_message_id: messageId },
		});

	it("records a bounce with the configured basic auth; wrong credentials are 401; a replay records nothing", async () => {
		const { ws, messageId, path } = await webhookSetup("postmark", credentials);
		const body = bounce(messageId);
		for (const authorization of [basicAuth("hooks", "wrong-password"), ""]) {
			const refused = await post(path, body, authorization ? { authorization } : {});
			expect(refused.status).toBe(401);
			expect(refused.body).toMatchObject({ error: { code: "unauthorized" } });
		}
		expect((await stateOf(ws.id, messageId)).recipients).toEqual([`${ANN}:sent`, `${BEN}:sent`]);

		const authorization = basicAuth("hooks", "correct-horse-battery");
		expect(await post(path, body, { authorization })).toEqual({ status: 200, body: { received: 1, recorded: 1 } });
		const after = await stateOf(ws.id, messageId);
		expect(after.recipients).toEqual([`${ANN}:sent`, `${BEN}:bounced`]);
		expect(after.suppressions).toEqual([`${BEN}:hard_bounce`]);
		expect(await post(path, body, { authorization })).toEqual({ status: 200, body: { received: 1, recorded: 0 } });
		expect(await stateOf(ws.id, messageId)).toEqual(after);
	});
});
