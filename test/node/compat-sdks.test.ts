// Each provider's official SDK from npm, pointed at the local relay under `wrangler dev` with only
// its base URL and key changed: its send succeeds with the SDK's own success value and the message
// reaches `sent` on /v1; a batch / personalizations / recipient-variables make one message per
// recipient; attachments and inline images reach the captured MIME; a bad sender, a validation error and a missing or wrong key raise the SDK's own errors.
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mailchimpTransactional from "@mailchimp/mailchimp_transactional";
import { Client as SendgridClient } from "@sendgrid/client";
import { MailService } from "@sendgrid/mail";
import FormData from "form-data";
import Mailgun from "mailgun.js";
import * as postmark from "postmark";
import { Resend } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
	applyMigrations,
	DEMO_DOMAIN,
	DEMO_KEY,
	ensureDevVars,
	executeLocalSql,
	seedDemo,
	startWorker,
} from "../../scripts/lib/local.mjs";

// Node test files run in parallel, each on its own ports (see admin-cli.test.ts): this one +2.
const PORT = Number(process.env.MQ_TEST_PORT ?? 8790) + 2;
const WRONG_KEY = "mq_test_wrong_key_0000000000000000000000";
const OTHER_KEY = "mq_test_other_workspace_key_000000000000";
const FROM = `App <app@${DEMO_DOMAIN}>`;
const UNVERIFIED = "App <app@not-ours.test>";
let dir = "";
let child: ChildProcess | undefined;
let url = "";

beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), "mq-compat-test-"));
	ensureDevVars();
	applyMigrations(dir, { quiet: true });
	seedDemo(dir, { quiet: true });
	// A second workspace with a verified domain of its own, whose key must not send as the demo's.
	const hash = createHash("sha256").update(OTHER_KEY).digest("hex");
	executeLocalSql(
		dir,
		`INSERT INTO workspaces (id, slug, name) VALUES ('ws_other', 'other', 'Other');
INSERT INTO domains (id, workspace_id, name, status, verification_token, verified_at) VALUES ('dom_other', 'ws_other', 'other.test', 'verified', 'x', 0);
INSERT INTO api_keys (id, workspace_id, name, prefix, key_hash, mode, scopes) VALUES ('key_other', 'ws_other', 'Other', '${OTHER_KEY.slice(0, 12)}', '${hash}', 'test', '["admin"]');`,
		{ quiet: true },
	);
	const started = await startWorker({ port: PORT, persistTo: dir, inheritOutput: false });
	child = started.child;
	child.stdout?.resume();
	child.stderr?.resume();
	url = started.url;
});

afterAll(() => {
	child?.kill("SIGTERM");
	if (dir) rmSync(dir, { recursive: true, force: true });
});

type Email = {
	status: string;
	to: { email: string }[];
	subject: string;
	tags: string[];
	metadata: Record<string, string>;
};

/** Polls /v1/emails/{id} with the demo key until it reads `sent` (or 20 s pass). */
async function sentEmail(id: string): Promise<Email> {
	let email = { status: "" } as Email;
	for (let i = 0; i < 100 && email.status !== "sent"; i++) {
		const res = await fetch(`${url}/v1/emails/${id}`, { headers: { authorization: `Bearer ${DEMO_KEY}` } });
		email = (await res.json()) as Email;
		if (email.status !== "sent") await new Promise((r) => setTimeout(r, 200));
	}
	expect(email.status).toBe("sent");
	return email;
}

// The files every SDK sends: a PDF longer than one base64 line and an inline PNG.
const PDF = Buffer.from(`%PDF-1.4\n${"x".repeat(120)}`);
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x6c, 0x6f, 0x67, 0x6f]);

/** Once sent, the MIME the sandbox gateway captured holds both files, base64 as the SDK sent them. */
async function expectCapturedFiles(id: string, inlineId: string): Promise<void> {
	await sentEmail(id);
	const res = await fetch(`${url}/v1/emails/${id}/content`, { headers: { authorization: `Bearer ${DEMO_KEY}` } });
	expect(res.status).toBe(200);
	const mime = await res.text();
	expect(mime).toMatch(/^Content-Disposition: attachment; filename="invoice\.pdf"\r$/m);
	expect(mime).toContain((PDF.toString("base64").match(/.{1,76}/g) ?? []).join("\r\n"));
	expect(mime).toMatch(/^Content-Disposition: inline; filename="logo\.png"\r$/m);
	expect(mime).toContain(`Content-ID: <${inlineId}>\r\n`);
	expect(mime).toContain(PNG.toString("base64"));
}

describe("resend (RESEND_BASE_URL)", () => {
	const client = (key: string) => {
		process.env.RESEND_BASE_URL = url;
		return new Resend(key);
	};
	const email = { from: FROM, to: "ada@example.net", subject: "Hi", html: "<p>Hi</p>" };

	it("sends: {data: {id}, error: null}, tags arrive, the message reaches sent and GET /emails/{id} reads it", async () => {
		const resend = client(DEMO_KEY);
		const { data, error } = await resend.emails.send({ ...email, tags: [{ name: "category", value: "welcome" }] });
		expect(error).toBeNull();
		const id = data?.id ?? "";
		const sent = await sentEmail(id);
		expect(sent.tags).toEqual(["category:welcome"]);
		const got = await resend.emails.get(id);
		expect(got.data).toMatchObject({ object: "email", id, last_event: "sent", to: ["ada@example.net"] });
	});

	it("attachments: a Buffer and an inline image by contentId reach the captured MIME", async () => {
		const { data, error } = await client(DEMO_KEY).emails.send({
			...email,
			html: '<p>Hi <img src="cid:logo"></p>',
			attachments: [
				{ filename: "invoice.pdf", content: PDF },
				{ filename: "logo.png", content: PNG.toString("base64"), contentType: "image/png", contentId: "logo" },
			],
		});
		expect(error).toBeNull();
		await expectCapturedFiles(data?.id ?? "", "logo");
		// A remote file is refused with Resend's validation error: the relay fetches nothing.
		const remote = await client(DEMO_KEY).emails.send({
			...email,
			attachments: [{ filename: "a.pdf", path: "https://example.com/a.pdf" }],
		});
		expect(remote.data).toBeNull();
		expect(remote.error).toMatchObject({ statusCode: 422, name: "validation_error" });
	});

	it("batch: one message per email, ids in order", async () => {
		const { data, error } = await client(DEMO_KEY).batch.send([
			{ ...email, to: "a@example.net", subject: "For a" },
			{ ...email, to: "b@example.net", subject: "For b" },
		]);
		expect(error).toBeNull();
		const ids = (data?.data ?? []).map((d) => d.id);
		expect(ids).toHaveLength(2);
		const emails = await Promise.all(ids.map(sentEmail));
		expect(emails.map((e) => [e.to[0]?.email, e.subject])).toEqual([
			["a@example.net", "For a"],
			["b@example.net", "For b"],
		]);
	});

	it("errors in Resend's shape: unverified sender, validation, wrong key, another workspace's key", async () => {
		const cases = [
			[DEMO_KEY, { ...email, from: UNVERIFIED }, 403, "validation_error"],
			[DEMO_KEY, { ...email, to: "nobody" }, 422, "validation_error"],
			[WRONG_KEY, email, 403, "invalid_api_key"],
			[OTHER_KEY, email, 403, "validation_error"],
		] as const;
		for (const [key, body, statusCode, name] of cases) {
			const { data, error } = await client(key).emails.send(body);
			expect(data).toBeNull();
			expect(error).toMatchObject({ statusCode, name });
		}
		// The SDK refuses to build a client without a key, so "missing" is shown with a bare call.
		const res = await fetch(`${url}/emails`, { method: "POST", body: JSON.stringify(email) });
		expect(await res.json()).toMatchObject({ statusCode: 401, name: "missing_api_key" });
	});
});

describe("postmark (ServerClient with requestHost, useHttps false)", () => {
	const client = (key: string) => new postmark.ServerClient(key, { useHttps: false, requestHost: `127.0.0.1:${PORT}` });
	const message = { From: FROM, To: "ada@example.net", Subject: "Receipt", TextBody: "Thanks" };

	it("sends: {ErrorCode: 0, Message: OK, MessageID}, Tag and Metadata arrive, reaches sent", async () => {
		const answer = await client(DEMO_KEY).sendEmail({ ...message, Tag: "receipt", Metadata: { order: "42" } });
		expect(answer).toMatchObject({ ErrorCode: 0, Message: "OK", To: "ada@example.net" });
		const sent = await sentEmail(answer.MessageID);
		expect(sent).toMatchObject({ tags: ["receipt"], metadata: { order: "42" } });
	});

	it("Attachments, one inline by ContentID, reach the captured MIME", async () => {
		const answer = await client(DEMO_KEY).sendEmail({
			...message,
			HtmlBody: '<p>Thanks <img src="cid:logo.png"></p>',
			Attachments: [
				new postmark.Models.Attachment("invoice.pdf", PDF.toString("base64"), "application/pdf"),
				new postmark.Models.Attachment("logo.png", PNG.toString("base64"), "image/png", "cid:logo.png"),
			],
		});
		expect(answer.ErrorCode).toBe(0);
		await expectCapturedFiles(answer.MessageID, "logo.png");
	});

	it("batch: one result per message in order, one message each", async () => {
		const answers = await client(DEMO_KEY).sendEmailBatch([
			{ ...message, To: "a@example.net", Subject: "A" },
			{ ...message, To: "b@example.net", Subject: "B" },
		]);
		expect(answers.map((a) => a.ErrorCode)).toEqual([0, 0]);
		const emails = await Promise.all(answers.map((a) => sentEmail(a.MessageID)));
		expect(emails.map((e) => [e.to[0]?.email, e.subject])).toEqual([
			["a@example.net", "A"],
			["b@example.net", "B"],
		]);
	});

	it("raises the SDK's own error classes with Postmark's codes", async () => {
		const expectError = async (key: string, body: typeof message, type: new (...a: never[]) => Error, code: number) => {
			const error = await client(key)
				.sendEmail(body)
				.then(
					() => null,
					(e: unknown) => e,
				);
			expect(error).toBeInstanceOf(type);
			expect(error).toMatchObject({ code });
		};
		await expectError(DEMO_KEY, { ...message, From: UNVERIFIED }, postmark.Errors.ApiInputError, 400);
		await expectError(DEMO_KEY, { ...message, To: "nobody" }, postmark.Errors.InvalidEmailRequestError, 300);
		await expectError(WRONG_KEY, message, postmark.Errors.InvalidAPIKeyError, 10);
		await expectError(OTHER_KEY, message, postmark.Errors.ApiInputError, 400);
		// The SDK refuses an empty token itself; without the header the relay answers as Postmark does.
		const res = await fetch(`${url}/email`, { method: "POST", body: JSON.stringify(message) });
		expect(res.status).toBe(401);
		expect(await res.json()).toMatchObject({ ErrorCode: 10 });
	});
});

describe("@sendgrid/mail (client baseUrl)", () => {
	const mailer = (key: string) => {
		const client = new SendgridClient();
		if (key !== "") client.setApiKey(key);
		client.setDefaultRequest("baseUrl", url);
		const mail = new MailService();
		mail.setClient(client);
		return mail;
	};

	it("two personalizations make two messages, each to its own recipient; categories and custom_args arrive", async () => {
		const [response] = await mailer(DEMO_KEY).send({
			from: { email: `app@${DEMO_DOMAIN}`, name: "App" },
			subject: "Hi {{name}}",
			text: "Hello {{name}}",
			categories: ["receipt"],
			customArgs: { order: "42" },
			personalizations: [
				{ to: "ada@example.net", substitutions: { name: "Ada" } },
				{ to: "bob@example.net", substitutions: { name: "Bob" }, customArgs: { user: "2" } },
			],
		});
		expect(response.statusCode).toBe(202);
		const ids = String(response.headers["x-mail-queue-message-ids"]).split(",");
		expect(response.headers["x-message-id"]).toBe(ids[0]);
		const emails = await Promise.all(ids.map(sentEmail));
		expect(emails.map((e) => [e.to.map((t) => t.email), e.subject, e.tags, e.metadata])).toEqual([
			[["ada@example.net"], "Hi Ada", ["receipt"], { order: "42" }],
			[["bob@example.net"], "Hi Bob", ["receipt"], { order: "42", user: "2" }],
		]);
	});

	it("attachments, inline by disposition and content_id, reach the captured MIME", async () => {
		const pdf = { content: PDF.toString("base64"), filename: "invoice.pdf", type: "application/pdf" };
		const logo = { content: PNG.toString("base64"), filename: "logo.png", type: "image/png", disposition: "inline" };
		const msg = { to: "ada@example.net", from: `app@${DEMO_DOMAIN}`, subject: "Hi", html: '<img src="cid:logo">' };
		// The SDK sends its typed `contentId` as is, which SendGrid refuses (sendgrid-nodejs#1080):
		// its users pass the API's `content_id`, outside the SDK's types, and so does this test.
		const withApiKey = { ...logo, content_id: "logo" } as typeof logo;
		const [response] = await mailer(DEMO_KEY).send({ ...msg, attachments: [pdf, withApiKey] });
		expect(response.statusCode).toBe(202);
		await expectCapturedFiles(String(response.headers["x-message-id"]), "logo");
		const camel = await mailer(DEMO_KEY)
			.send({ ...msg, attachments: [pdf, { ...logo, contentId: "logo" }] })
			.then(
				() => null,
				(e: unknown) => e as { code: number },
			);
		expect(camel?.code).toBe(400);
	});

	it("raises ResponseError with SendGrid's {errors} body and status", async () => {
		const msg = { to: "ada@example.net", from: `app@${DEMO_DOMAIN}`, subject: "Hi", text: "Hi" };
		const cases = [
			[DEMO_KEY, { ...msg, from: "app@not-ours.test" }, 403],
			[DEMO_KEY, { ...msg, to: "nobody" }, 400],
			[WRONG_KEY, msg, 401],
			["", msg, 401],
			[OTHER_KEY, msg, 403],
		] as const;
		for (const [key, body, code] of cases) {
			const error = await mailer(key)
				.send(body)
				.then(
					() => null,
					(e: unknown) => e as { code: number; response: { body: { errors: { message: string }[] } } },
				);
			expect(error?.code).toBe(code);
			expect(error?.response.body.errors[0]?.message.length).toBeGreaterThan(0);
		}
	});
});

describe("mailgun.js (client url)", () => {
	const client = (key: string) => new Mailgun(FormData).client({ username: "api", key, url });

	it("sends: {id: <id@domain>, message}, o:tag and v: arrive, reaches sent", async () => {
		const answer = await client(DEMO_KEY).messages.create(DEMO_DOMAIN, {
			from: FROM,
			to: ["ada@example.net"],
			subject: "Hello",
			text: "Hi",
			"o:tag": ["welcome"],
			"v:user": "7",
		});
		expect(answer.status).toBe(200);
		expect(answer.message).toBe("Queued. Thank you.");
		const id = answer.id?.match(/^<(.+)@example\.test>$/)?.[1] ?? "";
		expect(await sentEmail(id)).toMatchObject({ tags: ["welcome"], metadata: { user: "7" } });
	});

	it("attachment and inline files reach the captured MIME, inline under its file name", async () => {
		const answer = await client(DEMO_KEY).messages.create(DEMO_DOMAIN, {
			from: FROM,
			to: ["ada@example.net"],
			subject: "Invoice",
			html: '<p>Hi <img src="cid:logo.png"></p>',
			attachment: [{ filename: "invoice.pdf", data: PDF }],
			inline: [{ filename: "logo.png", data: PNG }],
		});
		expect(answer.status).toBe(200);
		await expectCapturedFiles(answer.id?.match(/^<(.+)@example\.test>$/)?.[1] ?? "", "logo.png");
	});

	it("recipient-variables: one message per recipient with its variables filled in", async () => {
		const answer = await client(DEMO_KEY).messages.create(DEMO_DOMAIN, {
			from: FROM,
			to: ["ada@example.net", "bob@example.net"],
			subject: "Hi %recipient.first%",
			text: "Code %recipient.code%",
			"recipient-variables": JSON.stringify({
				"ada@example.net": { first: "Ada", code: 1 },
				"bob@example.net": { first: "Bob", code: 2 },
			}),
		});
		const ids = ((answer as unknown as { ids: string[] }).ids ?? []).map((i) => i.slice(1, i.indexOf("@")));
		expect(ids).toHaveLength(2);
		const emails = await Promise.all(ids.map(sentEmail));
		expect(emails.map((e) => [e.to[0]?.email, e.subject])).toEqual([
			["ada@example.net", "Hi Ada"],
			["bob@example.net", "Hi Bob"],
		]);
	});

	it("raises the SDK's APIError with Mailgun's status and details", async () => {
		const msg = { from: FROM, to: ["ada@example.net"], subject: "Hi", text: "Hi" };
		const cases = [
			[DEMO_KEY, DEMO_DOMAIN, { ...msg, from: UNVERIFIED }, 403],
			[DEMO_KEY, DEMO_DOMAIN, { ...msg, "o:deliverytime": "tomorrow" }, 400],
			[WRONG_KEY, DEMO_DOMAIN, msg, 401],
			[OTHER_KEY, DEMO_DOMAIN, msg, 404],
		] as const;
		for (const [key, domain, body, status] of cases) {
			const error = await client(key)
				.messages.create(domain, body)
				.then(
					() => null,
					(e: unknown) => e as { type: string; status: number; details: string },
				);
			expect(error).toMatchObject({ type: "MailgunAPIError", status });
			expect(error?.details.length).toBeGreaterThan(0);
		}
		// mailgun.js refuses an empty key itself; without Basic auth the relay answers as Mailgun does.
		const res = await fetch(`${url}/v3/${DEMO_DOMAIN}/messages`, {
			method: "POST",
			body: new URLSearchParams({ from: FROM, to: "ada@example.net", subject: "Hi", text: "Hi" }),
		});
		expect(res.status).toBe(401);
		expect(await res.text()).toBe("Forbidden");
	});
});

describe("Mandrill (@mailchimp/mailchimp_transactional with basePath, and plain HTTP)", () => {
	const client = (key: string) => {
		const c = mailchimpTransactional(key);
		c.basePath = `${url}/api/1.3`;
		return c;
	};
	const message = {
		from_email: `app@${DEMO_DOMAIN}`,
		subject: "Hello",
		text: "Hi",
		to: [{ email: "ada@example.net" }, { email: "bob@example.net" }],
		tags: ["welcome"],
		metadata: { user: "7" },
	};

	it("sends one message per recipient and answers queued for each; tags and metadata arrive", async () => {
		const results = await client(DEMO_KEY).messages.send({ message });
		if (!Array.isArray(results)) throw new Error("the SDK returned an error");
		expect(results.map((r) => [r.email, r.status])).toEqual([
			["ada@example.net", "queued"],
			["bob@example.net", "queued"],
		]);
		const emails = await Promise.all(results.map((r) => sentEmail(r._id ?? "")));
		expect(emails.map((e) => [e.to[0]?.email, e.tags, e.metadata])).toEqual([
			["ada@example.net", ["welcome"], { user: "7" }],
			["bob@example.net", ["welcome"], { user: "7" }],
		]);
	});

	it("attachments and images (Content-ID = name) reach each recipient's captured MIME", async () => {
		const results = await client(DEMO_KEY).messages.send({
			message: {
				...message,
				html: '<p>Hi <img src="cid:logo.png"></p>',
				attachments: [{ type: "application/pdf", name: "invoice.pdf", content: PDF.toString("base64") }],
				images: [{ type: "image/png", name: "logo.png", content: PNG.toString("base64") }],
			},
		});
		if (!Array.isArray(results)) throw new Error("the SDK returned an error");
		expect(results.map((r) => r.status)).toEqual(["queued", "queued"]);
		for (const r of results) await expectCapturedFiles(r._id ?? "", "logo.png");
	});

	it("returns the SDK's error value with Mandrill's body; rejects an unverified sender per recipient", async () => {
		const wrong = await client(WRONG_KEY).messages.send({ message });
		expect(Array.isArray(wrong)).toBe(false);
		expect(wrong).toMatchObject({ response: { status: 500, data: { status: "error", name: "Invalid_Key" } } });
		expect(await client(OTHER_KEY).messages.send({ message })).toEqual([
			{ email: "ada@example.net", status: "rejected", _id: null, reject_reason: "unsigned" },
			{ email: "bob@example.net", status: "rejected", _id: null, reject_reason: "unsigned" },
		]);
		const invalid = await fetch(`${url}/api/1.0/messages/send.json`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ key: DEMO_KEY, message: { ...message, subject: "" } }),
		});
		expect(invalid.status).toBe(500);
		expect(await invalid.json()).toMatchObject({ status: "error", code: -2, name: "ValidationError" });
		const missing = await fetch(`${url}/api/1.0/messages/send.json`, {
			method: "POST",
			body: JSON.stringify({ message }),
		});
		expect(await missing.json()).toMatchObject({ status: "error", code: -1, name: "Invalid_Key" });
	});
});
