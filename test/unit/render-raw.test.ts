// Raw mode of the render stage: a message received over SMTP keeps its body as sent while the
// stages' header changes reach it; and the raw text survives a redrive rebuilt from its D1 row.
import { describe, expect, it } from "vitest";
import { RENDER_STAGES, type RenderInput, type RenderStage, renderWith } from "../../src/domain/delivery/render";
import { messageFromRows, messageRow } from "../../src/domain/delivery/rows";
import type { SendJob } from "../../src/domain/messages/model";

const RAW = [
	"From: App <app@example.test>",
	"To: a@x.test",
	"Bcc: hidden@x.test",
	"Subject: Hi",
	"X-User-ID: user-1",
	"X-Campaign: launch",
	"Return-Path: <forged@evil.test>",
	"X-Mail-Queue-ID: forged",
	"Content-Type: text/plain; charset=utf-8",
	"Content-Transfer-Encoding: quoted-printable",
	"",
	"<b>html-ish</b> body =C3=BC with a soft break=",
	" and trailing space ",
	"",
].join("\r\n");

const input: RenderInput = {
	id: "01M82PSQ3HZD8M2SZS809CC750GNV554PM",
	workspaceId: "ws_a",
	attempt: 1,
	recipients: ["a@x.test", "hidden@x.test"],
	message: {
		from: { email: "app@example.test", name: "App" },
		to: [{ email: "a@x.test" }],
		cc: [],
		bcc: [{ email: "hidden@x.test" }],
		replyTo: [],
		subject: "Hi",
		text: "<b>html-ish</b> body ü with a soft break and trailing space \n",
		headers: { "X-User-ID": "user-1", "X-Campaign": "launch" },
		tags: [],
		metadata: {},
		raw: RAW,
	},
};

const body = (mime: string) => mime.slice(mime.indexOf("\r\n\r\n"));

describe("render, raw mode", () => {
	it("delivers the client's body as sent, without control headers, Bcc or forged relay headers", async () => {
		const rendered = await renderWith(RENDER_STAGES, input);
		if (!rendered.ok) throw new Error(rendered.error);
		const { raw, headers, messageIdHeader } = rendered.value.message;
		expect(body(raw)).toBe(body(RAW));
		expect(raw).toMatch(/^X-Mail-Queue-ID: 01M82PSQ3HZD8M2SZS809CC750GNV554PM\r\n/);
		expect(raw).not.toMatch(/^(Bcc|X-User-ID|Return-Path):/im);
		expect(raw).not.toContain("forged");
		expect(raw).toContain("X-Campaign: launch\r\n");
		// The mapped fields API gateways send carry no control header either.
		expect(headers).toEqual([
			["X-Campaign", "launch"],
			["X-Mail-Queue-ID", input.id],
		]);
		expect(messageIdHeader).toMatch(/^<01m82psq3hzd8m2szs809cc750gnv554pm@example\.test>$/);
		expect(raw).toContain(`Message-ID: ${messageIdHeader}\r\n`);
	});

	it("applies headers a stage adds or removes, but a stage's body change cannot reach a raw message", async () => {
		const stage: RenderStage = {
			name: "return-path",
			apply: (draft) => ({
				...draft,
				parts: {
					...draft.parts,
					html: "<p>rewritten</p>",
					text: "rewritten",
					headers: [
						["Return-Path", "<bounces+abc@bounce.example.test>"],
						...draft.parts.headers.filter(([n]) => n !== "X-Campaign"),
						["List-Unsubscribe", "<https://u.test/x>"],
					],
				},
			}),
		};
		const rendered = await renderWith([stage], input);
		if (!rendered.ok) throw new Error(rendered.error);
		const { raw } = rendered.value.message;
		expect(
			raw.startsWith("Return-Path: <bounces+abc@bounce.example.test>\r\nList-Unsubscribe: <https://u.test/x>\r\n"),
		).toBe(true);
		expect(raw).not.toContain("X-Campaign");
		expect(body(raw)).toBe(body(RAW));
		// Without raw the same stage does rewrite the body: so it is raw mode that kept it.
		const { raw: _raw, ...parsed } = input.message;
		const rerendered = await renderWith([stage], { ...input, message: parsed });
		if (!rerendered.ok) throw new Error(rerendered.error);
		expect(rerendered.value.message.raw).toContain("rewritten");
	});

	it("falls back to rendering the parts when the text is not CRLF throughout", async () => {
		const rendered = await renderWith(RENDER_STAGES, {
			...input,
			message: { ...input.message, raw: RAW.replace(/\r\n/g, "\n") },
		});
		if (!rendered.ok) throw new Error(rendered.error);
		expect(rendered.value.message.raw).toContain("MIME-Version: 1.0");
		expect(rendered.value.message.raw).not.toContain("=C3=BC with a soft break=\r\n and");
	});

	it("keeps the raw text through the D1 row a redrive rebuilds the message from", async () => {
		const job: SendJob = {
			v: 1,
			kind: "accepted",
			id: input.id,
			workspaceId: "ws_a",
			apiKeyId: null,
			sandbox: true,
			acceptedAt: 1,
			source: "smtp",
			clientIp: "203.0.113.9",
			message: input.message,
		};
		const row = messageRow(job, input.message);
		expect(row).toMatchObject({ raw_mime: RAW, client_ip: "203.0.113.9", source: "smtp" });
		const rebuilt = await messageFromRows(
			row,
			[{ message_id: input.id, kind: "to", email: "a@x.test", name: null, status: "queued" }],
			{} as R2Bucket,
		);
		expect(rebuilt?.raw).toBe(RAW);
	});
});
