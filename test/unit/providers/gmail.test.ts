// Gmail: the service-account JWT verified against the test key pair, the token exchanged once and
// cached across sends, the MIME uploaded as the delegated user, and Google's errors classified.
import { exportPKCS8, generateKeyPair, jwtVerify } from "jose";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createGmailGateway, forgetGmailTokens, GMAIL_SEND_SCOPE } from "../../../src/providers/gmail";
import { ALL, build, envelopeOf, sampleMessage, scriptedFetch, signal } from "../../helpers/providers";

const token = { access_token: "ya29.c.b0AXv0zTOKEN", expires_in: 3599, token_type: "Bearer" };
let keys: CryptoKeyPair;
let privateKey: string;
const spec = () => ({
	type: "gmail" as const,
	config: { delegated_user: "sender@example.test" },
	credentials: { client_email: "relay@project.iam.gserviceaccount.com", private_key: privateKey },
});

describe("gmail driver", () => {
	beforeAll(async () => {
		keys = await generateKeyPair("RS256", { extractable: true });
		privateKey = await exportPKCS8(keys.privateKey);
	});
	beforeEach(() => forgetGmailTokens());

	it("signs an RS256 JWT for the delegated user, caches the token, and uploads the MIME", async () => {
		const { fetch, calls } = scriptedFetch({ body: token }, { body: { id: "18c1", threadId: "18c1" } });
		const gateway = build(createGmailGateway, spec(), fetch);
		const message = sampleMessage();
		const first = await gateway.send(message, envelopeOf(...ALL), signal());
		const second = await gateway.send(message, envelopeOf("ada@example.org"), signal());
		expect(first.recipients.every((r) => r.status === "accepted" && r.providerMessageId === "18c1")).toBe(true);
		expect(second.recipients[0]).toMatchObject({ status: "accepted" });

		// One token exchange for two sends.
		expect(calls.map((c) => new URL(c.request.url).pathname)).toEqual([
			"/token",
			"/upload/gmail/v1/users/sender%40example.test/messages/send",
			"/upload/gmail/v1/users/sender%40example.test/messages/send",
		]);
		const [exchange, send] = calls;
		expect(exchange?.request.url).toBe("https://oauth2.googleapis.com/token");
		const form = new URLSearchParams(exchange?.body);
		expect(form.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer");
		const { payload, protectedHeader } = await jwtVerify(form.get("assertion") ?? "", keys.publicKey, {
			issuer: "relay@project.iam.gserviceaccount.com",
			subject: "sender@example.test",
			audience: "https://oauth2.googleapis.com/token",
		});
		expect(protectedHeader.alg).toBe("RS256");
		expect(payload.scope).toBe(GMAIL_SEND_SCOPE);
		expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);

		expect(send?.request.url).toContain("uploadType=media");
		expect(send?.request.headers.get("authorization")).toBe(`Bearer ${token.access_token}`);
		expect(send?.request.headers.get("content-type")).toBe("message/rfc822");
		// dee is only in the envelope: Gmail learns of it from a Bcc header it strips.
		expect(send?.body).toBe(`Bcc: dee@example.org\r\n${message.raw}`);
	});

	it("answers a refused token exchange as auth, and a 401 on send drops the cached token", async () => {
		const refused = scriptedFetch({
			status: 400,
			body: { error: "unauthorized_client", error_description: "Client is unauthorized to retrieve access tokens" },
		});
		const [r] = (
			await build(createGmailGateway, spec(), refused.fetch).send(sampleMessage(), envelopeOf("a@b.test"), signal())
		).recipients;
		expect(r).toMatchObject({
			status: "auth",
			response: "gmail token 400: unauthorized_client: Client is unauthorized to retrieve access tokens",
		});

		const expired = scriptedFetch(
			{ body: token },
			{
				status: 401,
				body: { error: { code: 401, message: "Invalid Credentials", errors: [{ reason: "authError" }] } },
			},
			{ body: token },
			{ body: { id: "x" } },
		);
		const gateway = build(createGmailGateway, spec(), expired.fetch);
		expect((await gateway.send(sampleMessage(), envelopeOf("a@b.test"), signal())).recipients[0]?.status).toBe("auth");
		expect((await gateway.send(sampleMessage(), envelopeOf("a@b.test"), signal())).recipients[0]?.status).toBe(
			"accepted",
		);
		expect(expired.calls.filter((c) => c.request.url.endsWith("/token"))).toHaveLength(2);
	});

	it("classifies Google's rate limits (403 and 429) as temporary and bad requests as permanent", async () => {
		const cases = [
			[403, "userRateLimitExceeded", "User-rate limit exceeded", "temporary"],
			[429, "rateLimitExceeded", "Rate Limit Exceeded", "temporary"],
			[403, "insufficientPermissions", "Insufficient Permission", "auth"],
			[400, "invalidArgument", "Invalid To header", "permanent"],
			[503, "backendError", "Backend Error", "temporary"],
		] as const;
		for (const [status, reason, message, kind] of cases) {
			const { fetch } = scriptedFetch(
				{ body: token },
				{ status, body: { error: { code: status, message, errors: [{ reason }] } } },
			);
			const [r] = (
				await build(createGmailGateway, spec(), fetch).send(sampleMessage(), envelopeOf("a@b.test"), signal())
			).recipients;
			expect(r, reason).toMatchObject({ status: kind, response: `gmail ${status}: ${reason}: ${message}` });
			forgetGmailTokens();
		}
	});

	it("checks with a token exchange and never shows the key", async () => {
		const { fetch } = scriptedFetch({ body: token });
		expect(await build(createGmailGateway, spec(), fetch).check?.(signal())).toEqual({
			ok: true,
			detail: "token issued for sender@example.test",
		});
		forgetGmailTokens();
		const bad = scriptedFetch({
			status: 400,
			body: { error: "invalid_grant", error_description: "Invalid JWT Signature." },
		});
		const check = await build(createGmailGateway, spec(), bad.fetch).check?.(signal());
		expect(check).toEqual({ ok: false, detail: "gmail token 400: invalid_grant: Invalid JWT Signature." });
	});
});
