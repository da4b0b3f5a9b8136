// Cloudflare Email Service: send_raw with the envelope and per-recipient lists, and the binding mode.
import { describe, expect, it } from "vitest";
import { createCloudflareGateway } from "../../../src/providers/cloudflare";
import { build, buildError, envelopeOf, sampleMessage, scriptedFetch, signal } from "../../helpers/providers";

const TOKEN = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
const ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353";
const spec = {
	type: "cloudflare" as const,
	config: { mode: "rest", account_id: ACCOUNT },
	credentials: { api_token: TOKEN },
};

describe("cloudflare driver", () => {
	it("posts the MIME to send_raw and reads delivered / queued / permanent_bounces per recipient", async () => {
		const { fetch, calls } = scriptedFetch({
			body: {
				success: true,
				errors: [],
				messages: [],
				result: { delivered: ["ada@example.org"], queued: ["bob@example.org"], permanent_bounces: ["cy@example.org"] },
			},
		});
		const envelope = envelopeOf("ada@example.org", "bob@example.org", "cy@example.org", "dee@example.org");
		const message = sampleMessage();
		const result = await build(createCloudflareGateway, spec, fetch).send(message, envelope, signal());
		expect(result.recipients.map((r) => [r.email, r.status])).toEqual([
			["ada@example.org", "accepted"],
			["bob@example.org", "accepted"],
			["cy@example.org", "permanent"],
			["dee@example.org", "temporary"],
		]);
		const [call] = calls;
		expect(call?.request.url).toBe(`https://api.cloudflare.com/client/v4/accounts/${ACCOUNT}/email/sending/send_raw`);
		expect(call?.request.headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
		expect(JSON.parse(call?.body ?? "{}")).toEqual({
			from: envelope.from,
			recipients: envelope.recipients.map((r) => r.email),
			mime_message: message.raw,
		});
	});

	it("classifies Cloudflare's error envelope", async () => {
		const cases = [
			[401, 10000, "Authentication error", "auth"],
			[403, 10000, "Authentication error", "auth"],
			[400, 10001, "Invalid sender: the domain is not onboarded to Email Sending", "permanent"],
			[429, 971, "Please wait and consider throttling your request speed", "temporary"],
			[500, 10002, "Internal error", "temporary"],
		] as const;
		for (const [status, code, message, kind] of cases) {
			const { fetch } = scriptedFetch({
				status,
				body: { success: false, errors: [{ code, message }], messages: [], result: null },
			});
			const [r] = (
				await build(createCloudflareGateway, spec, fetch).send(sampleMessage(), envelopeOf("a@b.test"), signal())
			).recipients;
			expect(r, String(status)).toMatchObject({ status: kind, response: `cloudflare ${status}: ${code} ${message}` });
		}
	});

	it("verifies the token in check", async () => {
		const { fetch, calls } = scriptedFetch({ body: { success: true, result: { id: "t", status: "active" } } });
		expect(await build(createCloudflareGateway, spec, fetch).check?.(signal())).toEqual({
			ok: true,
			detail: "the API token is active",
		});
		expect(calls[0]?.request.url).toBe(`https://api.cloudflare.com/client/v4/accounts/${ACCOUNT}/tokens/verify`);
	});

	it("sends through the send_email binding once per recipient in binding mode", async () => {
		const sent: { from: string; to: string }[] = [];
		const email = {
			async send(message: EmailMessage) {
				if (message.to === "refused@example.org") throw new Error("destination address not allowed");
				sent.push({ from: message.from, to: message.to });
				return { messageId: `<cf-${sent.length}@example.test>` };
			},
		} as unknown as SendEmail;
		const { fetch } = scriptedFetch();
		const gateway = build(createCloudflareGateway, { ...spec, config: { mode: "binding" }, credentials: {} }, fetch, {
			email,
		});
		const result = await gateway.send(sampleMessage(), envelopeOf("ada@example.org", "refused@example.org"), signal());
		expect(result.recipients).toEqual([
			{ email: "ada@example.org", status: "accepted", providerMessageId: "<cf-1@example.test>" },
			{
				email: "refused@example.org",
				status: "permanent",
				response: "cloudflare binding: destination address not allowed",
			},
		]);
		expect(sent).toEqual([{ from: "bounce+msg_01TEST@example.test", to: "ada@example.org" }]);
	});

	it("refuses rest mode without an account id, and binding mode without a binding", () => {
		expect(buildError(createCloudflareGateway, { ...spec, config: { mode: "rest" } })).toContain("config.account_id");
		expect(buildError(createCloudflareGateway, { ...spec, config: { mode: "binding" }, credentials: {} })).toContain(
			"send_email",
		);
	});
});
