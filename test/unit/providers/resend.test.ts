// Resend /emails on the wire: bearer key, tags, and the envelope's key as Idempotency-Key.
import { describe, expect, it } from "vitest";
import { createResendGateway } from "../../../src/providers/resend";
import { ALL, build, envelopeOf, sampleMessage, scriptedFetch, signal } from "../../helpers/providers";

const KEY = "re_123456789_AbCdEfGhIjKlMnOpQrStUvWx";
const spec = { type: "resend" as const, config: {}, credentials: { api_key: KEY } };

describe("resend driver", () => {
	it("posts mapped fields with the idempotency key and tags", async () => {
		const { fetch, calls } = scriptedFetch({ body: { id: "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794" } });
		const envelope = envelopeOf(...ALL);
		const result = await build(createResendGateway, spec, fetch).send(sampleMessage(), envelope, signal());
		expect(result.recipients[0]).toMatchObject({
			status: "accepted",
			providerMessageId: "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794",
		});
		const [call] = calls;
		expect(call?.request.url).toBe("https://api.resend.com/emails");
		expect(call?.request.headers.get("authorization")).toBe(`Bearer ${KEY}`);
		expect(call?.request.headers.get("idempotency-key")).toBe(envelope.idempotencyKey);
		expect(JSON.parse(call?.body ?? "{}")).toEqual({
			from: "App <app@example.test>",
			to: ["Ada <ada@example.org>", "bob@example.org"],
			cc: ["cy@example.org"],
			bcc: ["dee@example.org"],
			reply_to: ["support@example.test"],
			subject: "Hello",
			html: "<p>Hello Ada.</p>",
			text: "Hello Ada.",
			headers: { "X-Campaign": "spring" },
			attachments: [
				{ filename: "a.txt", content: "aGVsbG8=", content_type: "text/plain" },
				{ filename: "logo.png", content: "iVBORw0KGgo=", content_type: "image/png", content_id: "logo" },
			],
			tags: [
				{ name: "welcome", value: "true" },
				{ name: "onboarding", value: "true" },
				{ name: "user_id", value: "42" },
				{ name: "mq_message_id", value: "msg_01TEST" },
			],
		});
	});

	it("gives each per-recipient copy its recipient's own idempotency key", async () => {
		const { fetch, calls } = scriptedFetch({ body: { id: "a" } }, { body: { id: "b" } });
		const envelope = envelopeOf("cy@example.org", "dee@example.org");
		const result = await build(createResendGateway, spec, fetch).send(sampleMessage(), envelope, signal());
		expect(result.recipients.map((r) => r.status === "accepted" && r.providerMessageId)).toEqual(["a", "b"]);
		expect(calls.map((c) => c.request.headers.get("idempotency-key"))).toEqual(
			envelope.recipients.map((r) => r.idempotencyKey),
		);
		expect(calls.map((c) => JSON.parse(c.body).to)).toEqual([["cy@example.org"], ["dee@example.org"]]);
	});

	it("classifies Resend's documented errors", async () => {
		const cases = [
			[401, "missing_api_key", "Missing API key in the authorization header.", "auth"],
			[403, "invalid_api_key", "API key is invalid.", "auth"],
			[403, "validation_error", "The example.test domain is not verified.", "auth"],
			[422, "validation_error", "Invalid `to` field.", "permanent"],
			[409, "invalid_idempotent_request", "Same idempotency key used with a different request payload.", "permanent"],
			[
				409,
				"concurrent_idempotent_requests",
				"Same idempotency key used while original request is still in progress.",
				"temporary",
			],
			[429, "rate_limit_exceeded", "Too many requests.", "temporary"],
			[429, "daily_quota_exceeded", "You have reached your daily email sending quota.", "temporary"],
			[500, "internal_server_error", "An unexpected error occurred.", "temporary"],
		] as const;
		for (const [status, name, message, kind] of cases) {
			const { fetch } = scriptedFetch({
				status,
				body: { statusCode: status, name, message },
				headers: { "retry-after": "2" },
			});
			const [r] = (
				await build(createResendGateway, spec, fetch).send(sampleMessage(), envelopeOf("ada@example.org"), signal())
			).recipients;
			expect(r, name).toMatchObject({ status: kind, response: `resend ${status}: ${name}: ${message}` });
			if (r?.status === "temporary") expect(r.retryAfterSeconds).toBe(2);
		}
	});

	it("checks with the domains list, and accepts a sending-only key", async () => {
		const { fetch, calls } = scriptedFetch({ body: { data: [{ name: "example.test", status: "verified" }] } });
		expect(await build(createResendGateway, spec, fetch).check?.(signal())).toEqual({
			ok: true,
			detail: "domains: example.test (verified)",
		});
		expect(calls[0]?.request.url).toBe("https://api.resend.com/domains");
		const restricted = scriptedFetch({
			status: 401,
			body: { statusCode: 401, name: "restricted_api_key", message: "This API key is restricted to only send emails" },
		});
		expect(await build(createResendGateway, spec, restricted.fetch).check?.(signal())).toMatchObject({ ok: true });
		const bad = scriptedFetch({
			status: 403,
			body: { statusCode: 403, name: "invalid_api_key", message: "API key is invalid" },
		});
		expect(await build(createResendGateway, spec, bad.fetch).check?.(signal())).toEqual({
			ok: false,
			detail: "resend 403: invalid_api_key: API key is invalid",
		});
	});
});
