// Postmark /email on the wire, and its ErrorCodes classified.
import { describe, expect, it } from "vitest";
import { createPostmarkGateway } from "../../../src/providers/postmark";
import { ALL, build, envelopeOf, sampleMessage, scriptedFetch, signal } from "../../helpers/providers";

const TOKEN = "f00dcafe-1234-4bcd-9876-0123456789ab";
const spec = { type: "postmark" as const, config: {}, credentials: { server_token: TOKEN } };
const ok = {
	To: "ada@example.org",
	SubmittedAt: "2026-01-01T00:00:00Z",
	MessageID: "b7bc2f4a-e38e-4336-af7d-e6c392c2f817",
	ErrorCode: 0,
	Message: "OK",
};

describe("postmark driver", () => {
	it("posts mapped fields with the server token, stream, tag and metadata", async () => {
		const { fetch, calls } = scriptedFetch({ body: ok });
		const result = await build(createPostmarkGateway, spec, fetch).send(sampleMessage(), envelopeOf(...ALL), signal());
		expect(result.recipients.every((r) => r.status === "accepted")).toBe(true);
		expect(result.recipients[0]).toMatchObject({ providerMessageId: ok.MessageID });
		const [call] = calls;
		expect(call?.request.url).toBe("https://api.postmarkapp.com/email");
		expect(call?.request.headers.get("x-postmark-server-token")).toBe(TOKEN);
		expect(call?.request.headers.get("accept")).toBe("application/json");
		expect(JSON.parse(call?.body ?? "{}")).toEqual({
			From: "App <app@example.test>",
			To: "Ada <ada@example.org>, bob@example.org",
			Cc: "cy@example.org",
			Bcc: "dee@example.org",
			ReplyTo: "support@example.test",
			Subject: "Hello",
			HtmlBody: "<p>Hello Ada.</p>",
			TextBody: "Hello Ada.",
			Headers: [
				{ Name: "Message-ID", Value: "<msg_1@example.test>" },
				{ Name: "X-Campaign", Value: "spring" },
			],
			Tag: "welcome",
			Metadata: { user_id: "42", mq_message_id: "msg_01TEST" },
			MessageStream: "outbound",
			Attachments: [
				{ Name: "a.txt", Content: "aGVsbG8=", ContentType: "text/plain" },
				{ Name: "logo.png", Content: "iVBORw0KGgo=", ContentType: "image/png", ContentID: "cid:logo" },
			],
		});
	});

	it("uses the configured message stream", async () => {
		const { fetch, calls } = scriptedFetch({ body: ok });
		await build(createPostmarkGateway, { ...spec, config: { message_stream: "broadcast" } }, fetch).send(
			sampleMessage(),
			envelopeOf("ada@example.org"),
			signal(),
		);
		expect(JSON.parse(calls[0]?.body ?? "{}").MessageStream).toBe("broadcast");
	});

	it("maps Postmark's ErrorCodes", async () => {
		const cases = [
			[401, 10, "No Account or Server API tokens were supplied in the HTTP headers.", "auth"],
			[422, 300, "Invalid 'To' address: 'nobody'.", "permanent"],
			[422, 406, "You tried to send to recipient(s) that have been marked as inactive.", "permanent"],
			[422, 400, "The 'From' address you supplied is not a Sender Signature on your account.", "auth"],
			[422, 412, "Your account is pending approval.", "auth"],
			[429, 429, "Rate limit exceeded.", "temporary"],
			[500, 100, "Maintenance", "temporary"],
		] as const;
		for (const [status, code, text, kind] of cases) {
			const { fetch } = scriptedFetch({ status, body: { ErrorCode: code, Message: text } });
			const [r] = (
				await build(createPostmarkGateway, spec, fetch).send(sampleMessage(), envelopeOf("ada@example.org"), signal())
			).recipients;
			expect(r, `${code}`).toMatchObject({ status: kind, response: `postmark ${status}: ErrorCode ${code}: ${text}` });
		}
	});

	it("checks the token with GET /server", async () => {
		const { fetch, calls } = scriptedFetch({ body: { ID: 1, Name: "Production" } });
		expect(await build(createPostmarkGateway, spec, fetch).check?.(signal())).toEqual({
			ok: true,
			detail: 'server "Production"',
		});
		expect(calls[0]?.request.url).toBe("https://api.postmarkapp.com/server");
		const bad = scriptedFetch({ status: 401, body: { ErrorCode: 10, Message: "Bad or missing Server API token." } });
		expect(await build(createPostmarkGateway, spec, bad.fetch).check?.(signal())).toEqual({
			ok: false,
			detail: "postmark 401: Bad or missing Server API token.",
		});
	});
});
