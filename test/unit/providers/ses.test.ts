// SES v2 on the wire: a SigV4-signed SendEmail with raw content, and SES's error types classified.
import { describe, expect, it } from "vitest";
import { createSesGateway } from "../../../src/providers/ses";
import { ALL, build, envelopeOf, sampleMessage, scriptedFetch, signal } from "../../helpers/providers";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const spec = {
	type: "ses" as const,
	config: { region: "eu-west-1", configuration_set: "transactional" },
	credentials: { access_key_id: "AKIAIOSFODNN7EXAMPLE", secret_access_key: SECRET },
};

describe("ses driver", () => {
	it("sends a SigV4-signed SendEmail with the raw MIME, the envelope and EmailTags", async () => {
		const { fetch, calls } = scriptedFetch({ body: { MessageId: "0102018c-ses-id" } });
		const message = sampleMessage();
		const result = await build(createSesGateway, spec, fetch).send(message, envelopeOf(...ALL), signal());
		expect(result.recipients.every((r) => r.status === "accepted" && r.providerMessageId === "0102018c-ses-id")).toBe(
			true,
		);
		const [call] = calls;
		expect(call?.request.method).toBe("POST");
		expect(call?.request.url).toBe("https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails");
		const auth = call?.request.headers.get("authorization") ?? "";
		expect(auth).toMatch(
			/^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/ses\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
		);
		expect(auth).not.toContain(SECRET);
		expect(call?.request.headers.get("x-amz-date")).toMatch(/^\d{8}T\d{6}Z$/);
		const body = JSON.parse(call?.body ?? "{}");
		expect(body.FromEmailAddress).toBe("app@example.test");
		expect(body.Destination).toEqual({ ToAddresses: ALL });
		expect(atob(body.Content.Raw.Data)).toBe(message.raw);
		expect(body.ConfigurationSetName).toBe("transactional");
		expect(body.EmailTags).toEqual([
			{ Name: "welcome", Value: "true" },
			{ Name: "onboarding", Value: "true" },
			{ Name: "user_id", Value: "42" },
			{ Name: "mq_message_id", Value: "msg_01TEST" },
		]);
	});

	it("classifies SES error types from x-amzn-ErrorType", async () => {
		const cases = [
			[400, "MessageRejected", "Email address is not verified.", "permanent"],
			[400, "MailFromDomainNotVerifiedException", "MAIL FROM domain is not verified.", "auth"],
			[400, "AccountSuspendedException", "Sending is suspended for this account.", "auth"],
			[400, "LimitExceededException", "Maximum sending rate exceeded.", "temporary"],
			[429, "TooManyRequestsException", "Too many requests.", "temporary"],
			[403, "InvalidSignatureException", "The request signature we calculated does not match.", "auth"],
			[404, "NotFoundException", "Configuration set <transactional> does not exist.", "auth"],
			[500, "InternalFailure", "Internal failure.", "temporary"],
		] as const;
		for (const [status, type, message, kind] of cases) {
			const { fetch } = scriptedFetch({
				status,
				body: { message },
				headers: { "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazonaws.sesv2/` },
			});
			const [r] = (await build(createSesGateway, spec, fetch).send(sampleMessage(), envelopeOf("a@b.test"), signal()))
				.recipients;
			expect(r, type).toMatchObject({ status: kind, response: `ses ${status}: ${type}: ${message}` });
		}
	});
});
