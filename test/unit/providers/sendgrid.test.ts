// SendGrid v3 Mail Send on the wire, and its documented error bodies classified.
import { describe, expect, it } from "vitest";
import { createSendgridGateway } from "../../../src/providers/sendgrid";
import { ALL, build, envelopeOf, sampleMessage, scriptedFetch, signal } from "../../helpers/providers";

const KEY = "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";
const spec = { type: "sendgrid" as const, config: {}, credentials: { api_key: KEY } };

describe("sendgrid driver", () => {
	it("posts mapped fields with personalizations from the envelope; the id comes from X-Message-Id", async () => {
		const { fetch, calls } = scriptedFetch({
			status: 202,
			body: "",
			headers: { "x-message-id": "W86Jh3ZgRU-Ov7xWXnzSdA" },
		});
		const result = await build(createSendgridGateway, spec, fetch).send(sampleMessage(), envelopeOf(...ALL), signal());
		expect(result.recipients.map((r) => r.status)).toEqual(["accepted", "accepted", "accepted", "accepted"]);
		expect(result.recipients[0]).toMatchObject({ providerMessageId: "W86Jh3ZgRU-Ov7xWXnzSdA" });
		const [call] = calls;
		expect(call?.request.method).toBe("POST");
		expect(call?.request.url).toBe("https://api.sendgrid.com/v3/mail/send");
		expect(call?.request.headers.get("authorization")).toBe(`Bearer ${KEY}`);
		const body = JSON.parse(call?.body ?? "{}");
		expect(body.personalizations).toEqual([
			{
				to: [{ email: "ada@example.org", name: "Ada" }, { email: "bob@example.org" }],
				cc: [{ email: "cy@example.org" }],
				bcc: [{ email: "dee@example.org" }],
			},
		]);
		expect(body.from).toEqual({ email: "app@example.test", name: "App" });
		expect(body.reply_to_list).toEqual([{ email: "support@example.test" }]);
		expect(body.content).toEqual([
			{ type: "text/plain", value: "Hello Ada." },
			{ type: "text/html", value: "<p>Hello Ada.</p>" },
		]);
		expect(body.attachments).toEqual([
			{ content: "aGVsbG8=", filename: "a.txt", type: "text/plain", disposition: "attachment" },
			{ content: "iVBORw0KGgo=", filename: "logo.png", type: "image/png", disposition: "inline", content_id: "logo" },
		]);
		expect(body.headers).toEqual({ "Message-ID": "<msg_1@example.test>", "X-Campaign": "spring" });
		expect(body.categories).toEqual(["welcome", "onboarding"]);
		expect(body.custom_args).toEqual({ user_id: "42", mq_message_id: "msg_01TEST" });
	});

	it("sends a retry that reaches no header To as one copy per recipient, each its own To", async () => {
		const { fetch, calls } = scriptedFetch({ status: 202, body: "" });
		await build(createSendgridGateway, spec, fetch).send(
			sampleMessage(),
			envelopeOf("cy@example.org", "dee@example.org"),
			signal(),
		);
		expect(JSON.parse(calls[0]?.body ?? "{}").personalizations).toEqual([
			{ to: [{ email: "cy@example.org" }] },
			{ to: [{ email: "dee@example.org" }] },
		]);
	});

	it("classifies SendGrid's documented errors", async () => {
		const cases = [
			[
				401,
				{ errors: [{ message: "The provided authorization grant is invalid, expired, or revoked", field: null }] },
				"auth",
			],
			[
				403,
				{ errors: [{ message: "The from address does not match a verified Sender Identity.", field: "from" }] },
				"auth",
			],
			[
				400,
				{ errors: [{ message: "Does not contain a valid address.", field: "personalizations.0.to.0.email" }] },
				"permanent",
			],
			[
				413,
				{ errors: [{ message: "The JSON payload you have included in your request is too large.", field: null }] },
				"permanent",
			],
			[429, { errors: [{ message: "too many requests", field: null }] }, "temporary"],
			[500, { errors: [{ message: "Internal server error", field: null }] }, "temporary"],
		] as const;
		for (const [status, body, kind] of cases) {
			const { fetch } = scriptedFetch({ status, body, headers: status === 429 ? { "retry-after": "12" } : {} });
			const [r] = (
				await build(createSendgridGateway, spec, fetch).send(sampleMessage(), envelopeOf("ada@example.org"), signal())
			).recipients;
			expect(r?.status, String(status)).toBe(kind);
			if (r && r.status !== "accepted") {
				expect(r.response).toContain(`sendgrid ${status}:`);
				expect(r.response).not.toContain(KEY);
				if (status === 429) expect(r.retryAfterSeconds).toBe(12);
			}
		}
		const { fetch } = scriptedFetch({
			status: 400,
			body: { errors: [{ message: "Does not contain a valid address.", field: "personalizations.0.to.0.email" }] },
		});
		const [r] = (
			await build(createSendgridGateway, spec, fetch).send(sampleMessage(), envelopeOf("ada@example.org"), signal())
		).recipients;
		expect(r).toMatchObject({
			response: "sendgrid 400: personalizations.0.to.0.email: Does not contain a valid address.",
		});
	});

	it("checks that the key carries the mail.send scope", async () => {
		const good = scriptedFetch({ body: { scopes: ["mail.send", "alerts.read"] } });
		expect(await build(createSendgridGateway, spec, good.fetch).check?.(signal())).toMatchObject({ ok: true });
		expect(good.calls[0]?.request.url).toBe("https://api.sendgrid.com/v3/scopes");
		const narrow = scriptedFetch({ body: { scopes: ["alerts.read"] } });
		expect(await build(createSendgridGateway, spec, narrow.fetch).check?.(signal())).toMatchObject({ ok: false });
	});
});
