// Mailgun on the wire: messages.mime with basic auth, the envelope as `to`, tags and variables, and
// each documented failure classified.
import { describe, expect, it } from "vitest";
import { createMailgunGateway } from "../../../src/providers/mailgun";
import { ALL, build, buildError, envelopeOf, sampleMessage, scriptedFetch, signal } from "../../helpers/providers";

const KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
const spec = { type: "mailgun" as const, config: { domain: "mg.example.test" }, credentials: { api_key: KEY } };

describe("mailgun driver", () => {
	it("posts the rendered MIME to messages.mime with the envelope, tags and variables", async () => {
		const { fetch, calls } = scriptedFetch({
			body: { id: "<20260101.1@mg.example.test>", message: "Queued. Thank you." },
		});
		const gateway = build(createMailgunGateway, spec, fetch);
		const message = sampleMessage();
		const result = await gateway.send(message, envelopeOf(...ALL), signal());

		expect(result.recipients).toHaveLength(4);
		for (const r of result.recipients) {
			expect(r).toMatchObject({ status: "accepted", providerMessageId: "<20260101.1@mg.example.test>" });
		}
		const [call] = calls;
		expect(call?.request.method).toBe("POST");
		expect(call?.request.url).toBe("https://api.mailgun.net/v3/mg.example.test/messages.mime");
		expect(call?.request.headers.get("authorization")).toBe(`Basic ${btoa(`api:${KEY}`)}`);
		const form = await call?.request.formData();
		expect(form?.getAll("to")).toEqual(ALL);
		const mime = form?.get("message");
		expect(mime).toBeInstanceOf(File);
		expect(await (mime as File).text()).toBe(message.raw);
		expect(form?.getAll("o:tag")).toEqual(["welcome", "onboarding"]);
		expect(form?.get("v:user_id")).toBe("42");
		expect(form?.get("v:mq-message-id")).toBe("msg_01TEST");
	});

	it("uses the EU host for region eu, and base_url when given", async () => {
		const eu = scriptedFetch({ body: { id: "<x>" } });
		await build(createMailgunGateway, { ...spec, config: { domain: "d.test", region: "eu" } }, eu.fetch).send(
			sampleMessage(),
			envelopeOf("ada@example.org"),
			signal(),
		);
		expect(eu.calls[0]?.request.url).toBe("https://api.eu.mailgun.net/v3/d.test/messages.mime");
		const custom = scriptedFetch({ body: { id: "<x>" } });
		await build(
			createMailgunGateway,
			{ ...spec, config: { domain: "d.test", base_url: "https://mg.proxy.test/" } },
			custom.fetch,
		).send(sampleMessage(), envelopeOf("ada@example.org"), signal());
		expect(custom.calls[0]?.request.url).toBe("https://mg.proxy.test/v3/d.test/messages.mime");
	});

	it("classifies Mailgun's documented failures", async () => {
		const cases = [
			{ answer: { status: 401, body: "Forbidden" }, status: "auth" },
			{ answer: { status: 404, body: { message: "Domain not found: mg.example.test" } }, status: "auth" },
			{
				answer: { status: 400, body: { message: "to parameter is not a valid address. please check documentation" } },
				status: "permanent",
			},
			{
				answer: { status: 429, body: { message: "Too many requests" }, headers: { "retry-after": "30" } },
				status: "temporary",
				retry: 30,
			},
			{ answer: { status: 503, body: "Service Unavailable" }, status: "temporary" },
			{ answer: new TypeError("connection reset"), status: "temporary" },
		] as const;
		for (const c of cases) {
			const { fetch } = scriptedFetch(c.answer);
			const result = await build(createMailgunGateway, spec, fetch).send(
				sampleMessage(),
				envelopeOf("ada@example.org"),
				signal(),
			);
			const [r] = result.recipients;
			expect(r?.status, JSON.stringify(c.answer)).toBe(c.status);
			if (r && r.status !== "accepted") {
				expect(r.response).not.toContain(KEY);
				if ("retry" in c) expect(r.retryAfterSeconds).toBe(c.retry);
			}
		}
		const { fetch } = scriptedFetch({ status: 400, body: { message: "'from' parameter is missing" } });
		const [r] = (await build(createMailgunGateway, spec, fetch).send(sampleMessage(), envelopeOf("a@b.test"), signal()))
			.recipients;
		expect(r).toMatchObject({ status: "permanent", response: "mailgun 400: 'from' parameter is missing" });
	});

	it("checks the credentials with a domain lookup", async () => {
		const { fetch, calls } = scriptedFetch({ body: { domain: { name: "mg.example.test", state: "active" } } });
		expect(await build(createMailgunGateway, spec, fetch).check?.(signal())).toEqual({
			ok: true,
			detail: "domain mg.example.test is active",
		});
		expect(calls[0]?.request.url).toBe("https://api.mailgun.net/v4/domains/mg.example.test");
		const bad = scriptedFetch({ status: 401, body: "Forbidden" });
		expect(await build(createMailgunGateway, spec, bad.fetch).check?.(signal())).toEqual({
			ok: false,
			detail: "mailgun 401: Forbidden",
		});
	});

	it("refuses a missing domain and an http base_url outside development", () => {
		expect(buildError(createMailgunGateway, { ...spec, config: {} })).toContain("config.domain");
		expect(
			buildError(createMailgunGateway, { ...spec, config: { domain: "d.test", base_url: "http://mg.proxy.test" } }),
		).toContain("https");
	});
});
