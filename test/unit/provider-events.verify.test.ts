// Each provider's webhook verification against its real wire format: a valid signature passes, a
// wrong key, a changed body and a stale timestamp do not.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { validateSpec } from "../../src/domain/gateways";
import { verifyMailgun } from "../../src/domain/provider-events/mailgun";
import { postmarkAuthorized } from "../../src/domain/provider-events/postmark";
import { verifySvix } from "../../src/domain/provider-events/resend";
import { verifySendgrid } from "../../src/domain/provider-events/sendgrid";
import { isSnsUrl, verifySns } from "../../src/domain/provider-events/sns";
import { createMailgunGateway } from "../../src/providers/mailgun";
import { buildGateway, driverCredentials } from "../../src/providers/registry";
import {
	basicAuth,
	interceptSns,
	mailgunBody,
	nowSeconds,
	SNS_CERT_URL,
	sendgridKeys,
	snsBody,
	svixHeaders,
	svixSecret,
} from "../helpers/provider-signing";

afterEach(() => vi.restoreAllMocks());

const MAILGUN_KEY = "key-0123456789abcdef0123456789abcdef";
const deliveredData = { id: "evt-1", event: "delivered", recipient: "ada@example.org", timestamp: nowSeconds() };

describe("Mailgun HMAC-SHA256(timestamp + token)", () => {
	it("accepts the signing key's signature and returns the token", async () => {
		const body = await mailgunBody(MAILGUN_KEY, deliveredData, { token: "t".repeat(50) });
		const result = await verifyMailgun(body, MAILGUN_KEY, Date.now());
		expect(result.ok).toBe(true);
		if (result.ok) expect(result.value.token).toBe("t".repeat(50));
	});

	it("refuses another key's signature, a changed token and a stale timestamp", async () => {
		const other = await mailgunBody("key-other", deliveredData);
		expect((await verifyMailgun(other, MAILGUN_KEY, Date.now())).ok).toBe(false);

		const body = JSON.parse(await mailgunBody(MAILGUN_KEY, deliveredData));
		body.signature.token = `${body.signature.token}x`;
		expect((await verifyMailgun(JSON.stringify(body), MAILGUN_KEY, Date.now())).ok).toBe(false);

		const stale = await mailgunBody(MAILGUN_KEY, deliveredData, { timestamp: nowSeconds() - 6 * 60 });
		const result = await verifyMailgun(stale, MAILGUN_KEY, Date.now());
		expect(result.ok).toBe(false);
		if (!result.ok) expect(result.error.message).toMatch(/stale/);
		// The same request is fresh 4 minutes later.
		expect((await verifyMailgun(stale, MAILGUN_KEY, Date.now() - 2 * 60_000)).ok).toBe(true);
	});

	it("refuses a body without a signature", async () => {
		expect((await verifyMailgun(JSON.stringify({ "event-data": deliveredData }), MAILGUN_KEY, Date.now())).ok).toBe(
			false,
		);
		expect((await verifyMailgun("not json", MAILGUN_KEY, Date.now())).ok).toBe(false);
	});
});

describe("SendGrid ECDSA P-256 over timestamp + body", () => {
	const body = JSON.stringify([{ email: "ada@example.org", event: "delivered", sg_event_id: "e1", timestamp: 1 }]);

	it("accepts a signature by the configured public key", async () => {
		const keys = await sendgridKeys();
		const result = await verifySendgrid(new Headers(await keys.headers(body)), body, keys.publicKey, Date.now());
		expect(result.ok).toBe(true);
		if (result.ok) expect(result.value).toHaveLength(1);
	});

	it("refuses another key, a changed body, a missing header and a stale timestamp", async () => {
		const keys = await sendgridKeys();
		const other = await sendgridKeys();
		const headers = new Headers(await keys.headers(body));
		expect((await verifySendgrid(headers, body, other.publicKey, Date.now())).ok).toBe(false);
		expect((await verifySendgrid(headers, body.replace("delivered", "bounce"), keys.publicKey, Date.now())).ok).toBe(
			false,
		);
		const noSignature = new Headers(headers);
		noSignature.delete("x-twilio-email-event-webhook-signature");
		expect((await verifySendgrid(noSignature, body, keys.publicKey, Date.now())).ok).toBe(false);
		const stale = new Headers(await keys.headers(body, String(nowSeconds() - 600)));
		expect((await verifySendgrid(stale, body, keys.publicKey, Date.now())).ok).toBe(false);
	});
});

describe("Resend (Svix) v1 HMAC of id.timestamp.body", () => {
	const body = JSON.stringify({ type: "email.delivered", created_at: "2026-01-01T00:00:00Z", data: {} });

	it("accepts any one matching v1 signature in the header", async () => {
		const secret = svixSecret();
		const result = await verifySvix(
			new Headers(await svixHeaders(secret, body, { id: "msg_1" })),
			body,
			secret,
			Date.now(),
		);
		expect(result.ok).toBe(true);
		if (result.ok) expect(result.value.id).toBe("msg_1");
	});

	it("refuses another secret, a changed body and a stale timestamp", async () => {
		const secret = svixSecret();
		const headers = new Headers(await svixHeaders(secret, body));
		expect((await verifySvix(headers, body, svixSecret(), Date.now())).ok).toBe(false);
		expect((await verifySvix(headers, `${body} `, secret, Date.now())).ok).toBe(false);
		const stale = new Headers(await svixHeaders(secret, body, { timestamp: nowSeconds() - 301 }));
		expect((await verifySvix(stale, body, secret, Date.now())).ok).toBe(false);
	});
});

describe("Postmark basic auth", () => {
	it("accepts exactly the configured credentials", () => {
		expect(postmarkAuthorized(basicAuth("hooks", "s3cret-pass"), "hooks", "s3cret-pass")).toBe(true);
		expect(postmarkAuthorized(basicAuth("hooks", "s3cret-pas"), "hooks", "s3cret-pass")).toBe(false);
		expect(postmarkAuthorized(basicAuth("hook", "s3cret-pass"), "hooks", "s3cret-pass")).toBe(false);
		expect(postmarkAuthorized(undefined, "hooks", "s3cret-pass")).toBe(false);
		expect(postmarkAuthorized("Bearer hooks:s3cret-pass", "hooks", "s3cret-pass")).toBe(false);
	});
});

describe("SNS signatures against the certificate at SigningCertURL", () => {
	const deps = { fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init) };

	it("accepts SignatureVersion 1 (SHA1withRSA) and 2 (SHA256withRSA)", async () => {
		const { fetched } = interceptSns();
		for (const version of ["1", "2"] as const) {
			const body = await snsBody({ Type: "Notification", Message: '{"notificationType":"Delivery"}' }, version);
			const result = await verifySns(body, deps);
			expect(result.ok, `version ${version}`).toBe(true);
		}
		// The certificate is fetched at most once for its URL (it may already be cached).
		expect(fetched.filter((u) => u === SNS_CERT_URL).length).toBeLessThanOrEqual(1);
	});

	it("refuses a changed message and a topic other than the configured one", async () => {
		interceptSns();
		const body = JSON.parse(await snsBody({ Type: "Notification", Message: '{"notificationType":"Delivery"}' }));
		body.Message = '{"notificationType":"Bounce"}';
		expect((await verifySns(JSON.stringify(body), deps)).ok).toBe(false);
		const good = await snsBody({ Type: "Notification", Message: "{}" });
		expect((await verifySns(good, deps, "arn:aws:sns:us-east-1:123456789012:other")).ok).toBe(false);
		expect((await verifySns(good, deps, "arn:aws:sns:us-east-1:123456789012:ses-events")).ok).toBe(true);
	});

	it("refuses a certificate on any other host without fetching it", async () => {
		const { fetched } = interceptSns();
		for (const url of [
			"https://sns.us-east-1.amazonaws.com.evil.test/cert.pem",
			"https://evil.test/sns.us-east-1.amazonaws.com/cert.pem",
			"http://sns.us-east-1.amazonaws.com/cert.pem",
			"https://sns.us-east-1.amazonaws.com:8443/cert.pem",
			"https://user@sns.us-east-1.amazonaws.com/cert.pem",
		]) {
			const body = await snsBody({ Type: "Notification", Message: "{}", SigningCertURL: url });
			const result = await verifySns(body, deps);
			expect(result.ok, url).toBe(false);
		}
		expect(fetched).toEqual([]);
		expect(isSnsUrl("https://sns.eu-west-1.amazonaws.com/x.pem", ".pem")).toBe(true);
		expect(isSnsUrl("https://sns.cn-north-1.amazonaws.com.cn/x.pem", ".pem")).toBe(true);
	});
});

describe("webhook secrets in a gateway's credentials", () => {
	it("are accepted by each type's credential schema and never reach the driver", async () => {
		const spec = validateSpec(
			"mailgun",
			{ domain: "mg.example.test" },
			{ api_key: "key-abc", webhook_signing_key: MAILGUN_KEY },
			"test",
		);
		expect(spec.ok).toBe(true);
		expect(
			validateSpec("mailgun", { domain: "mg.example.test" }, { api_key: "k", webhook_secret: "x" }, "test").ok,
		).toBe(false);
		expect(validateSpec("resend", {}, { api_key: "re_1", webhook_secret: svixSecret() }, "test").ok).toBe(true);
		expect(validateSpec("resend", {}, { api_key: "re_1", webhook_secret: "not-whsec" }, "test").ok).toBe(false);
		const credentials = { api_key: "key-abc", webhook_signing_key: MAILGUN_KEY };
		expect(driverCredentials(credentials)).toEqual({ api_key: "key-abc" });
		// The driver's own credential schema is strict: the secret would make it refuse to build.
		const built = buildGateway(
			{ id: "gw_1", type: "mailgun", config: { domain: "mg.example.test" }, credentials },
			{ bodies: env.BODIES, fetch, environment: "test" },
		);
		expect("error" in built).toBe(false);
		const unstripped = createMailgunGateway(
			{ id: "gw_1", type: "mailgun", config: { domain: "mg.example.test" }, credentials },
			{ bodies: env.BODIES, fetch, environment: "test" },
		);
		expect("error" in unstripped).toBe(true);
	});
});
