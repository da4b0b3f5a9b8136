// SendGrid's v3 mail send: one message per personalization with its own recipients, subject,
// headers, substitutions and custom_args; 202 with X-Message-Id; `{errors: [{message, field, help}]}`.
import { describe, expect, it } from "vitest";
import {
	compatRequest,
	deliveredMime,
	expectDelivered,
	expectFiles,
	PDF_BASE64,
	PNG_BASE64,
} from "../../helpers/compat";
import { json } from "../../helpers/worker";
import { createWorkspace } from "../../helpers/workspace";

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

function mail(domain: string, overrides: Record<string, unknown> = {}) {
	return {
		personalizations: [
			{
				to: [{ email: "ada@example.net", name: "Ada" }],
				cc: [{ email: "boss@example.net" }],
				substitutions: { "{{name}}": "Ada" },
				custom_args: { user: "1" },
			},
			{
				to: [{ email: "bob@example.net" }],
				subject: "Bob, your receipt",
				headers: { "X-Person": "bob" },
				substitutions: { "{{name}}": "Bob" },
				custom_args: { user: "2" },
			},
		],
		from: { email: `app@${domain}`, name: "App" },
		reply_to: { email: "help@example.net" },
		subject: "Your receipt, {{name}}",
		content: [
			{ type: "text/plain", value: "Hi {{name}}" },
			{ type: "text/html", value: "<p>Hi {{name}}</p>" },
		],
		headers: { "X-Campaign": "q3" },
		categories: ["receipt"],
		custom_args: { order: "42" },
		...overrides,
	};
}

describe("SendGrid POST /v3/mail/send", () => {
	it("makes one message per personalization, addressed only to its own recipients, and answers 202 with X-Message-Id", async () => {
		const ws = await createWorkspace();
		const sent = await compatRequest("/v3/mail/send", { headers: bearer(ws.key), body: mail(ws.domain) });
		expect(sent.res.status).toBe(202);
		expect(await sent.res.text()).toBe("");
		const ids = (sent.res.headers.get("x-mail-queue-message-ids") ?? "").split(",");
		expect(ids).toHaveLength(2);
		expect(sent.res.headers.get("x-message-id")).toBe(ids[0]);
		const byId = new Map(sent.jobs.map((j) => [j.id, j.message]));
		expect(byId.get(ids[0] ?? "")).toMatchObject({
			to: [{ email: "ada@example.net", name: "Ada" }],
			cc: [{ email: "boss@example.net" }],
			bcc: [],
			subject: "Your receipt, Ada",
			text: "Hi Ada",
			html: "<p>Hi Ada</p>",
			headers: { "X-Campaign": "q3" },
			tags: ["receipt"],
			metadata: { order: "42", user: "1" },
			replyTo: [{ email: "help@example.net" }],
		});
		expect(byId.get(ids[1] ?? "")).toMatchObject({
			to: [{ email: "bob@example.net" }],
			cc: [],
			subject: "Bob, your receipt",
			text: "Hi Bob",
			headers: { "X-Campaign": "q3", "X-Person": "bob" },
			metadata: { order: "42", user: "2" },
		});
		await expectDelivered(sent, ws.key, ids);
	});

	it("gives every personalization the attachments, inline when disposition is inline", async () => {
		const ws = await createWorkspace();
		const body = mail(ws.domain, {
			attachments: [
				// A content_id on a plain attachment does not make it inline: disposition decides.
				{ content: PDF_BASE64, filename: "invoice.pdf", type: "application/pdf", content_id: "ignored" },
				{ content: PNG_BASE64, filename: "logo.png", type: "image/png", disposition: "inline", content_id: "logo" },
			],
		});
		const sent = await compatRequest("/v3/mail/send", { headers: bearer(ws.key), body });
		expect(sent.res.status).toBe(202);
		const ids = (sent.res.headers.get("x-mail-queue-message-ids") ?? "").split(",");
		const mimes = await deliveredMime(sent, ws.key, ids);
		expect(mimes).toHaveLength(2);
		for (const mime of mimes) {
			expectFiles(mime);
			expect(mime).not.toContain("<ignored>");
		}
	});

	it("answers SendGrid's errors: 400 with the field (in its personalization), 401, 403 for an unverified sender", async () => {
		const ws = await createWorkspace();
		const bad = mail(ws.domain);
		bad.personalizations[1] = {
			...bad.personalizations[1],
			to: [{ email: "nobody" }],
		} as (typeof bad.personalizations)[1];
		const cases: [Record<string, string>, unknown, number, string | null][] = [
			[bearer(ws.key), bad, 400, "personalizations.1.to.0.email"],
			[
				bearer(ws.key),
				mail(ws.domain, { attachments: [{ content: "not base64!", filename: "a.txt" }] }),
				400,
				"attachments.0.content",
			],
			[
				bearer(ws.key),
				mail(ws.domain, { attachments: [{ content: "aGk=", filename: "a.png", disposition: "inline" }] }),
				400,
				"attachments.0.content_id",
			],
			[bearer(ws.key), mail(ws.domain, { send_at: 1_900_000_000 }), 400, "send_at"],
			[bearer(ws.key), mail(ws.domain, { template_id: "d-1" }), 400, "template_id"],
			[bearer(ws.key), mail(ws.domain, { from: { email: "app@not-ours.test" } }), 403, null],
			[{}, mail(ws.domain), 401, null],
			[bearer("mq_test_wrongwrongwrongwrongwrongwrongwr"), mail(ws.domain), 401, null],
		];
		for (const [headers, body, status, field] of cases) {
			const sent = await compatRequest("/v3/mail/send", { headers, body });
			expect(sent.res.status).toBe(status);
			const answer = await json<{ errors: { message: string; field: string | null; help: null }[] }>(sent.res);
			expect(answer.errors).toHaveLength(1);
			if (field) expect(answer.errors[0]?.field).toBe(field);
			expect(answer.errors[0]).toHaveProperty("help", null);
			expect(sent.jobs).toHaveLength(0);
		}
	});
});
