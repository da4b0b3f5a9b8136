// The render stage: one pipeline before every driver, whose stages run in their documented order.
import { describe, expect, it } from "vitest";
import {
	RENDER_STAGES,
	type RenderInput,
	type RenderStage,
	render,
	renderWith,
} from "../../src/domain/delivery/render";

const input: RenderInput = {
	id: "01M82PSQ3HZD8M2SZS809CC750GNV554PM",
	workspaceId: "ws_a",
	attempt: 1,
	recipients: ["a@x.test", "c@x.test", "hidden@x.test"],
	message: {
		from: { email: "app@example.test", name: "App" },
		to: [{ email: "a@x.test" }],
		cc: [{ email: "c@x.test", name: "Cee" }],
		bcc: [{ email: "hidden@x.test" }],
		replyTo: [{ email: "reply@example.test" }, { email: "r2@example.test", name: "Rëply" }],
		subject: "Héllo",
		text: "plain",
		html: "<b>html</b>",
		headers: { "X-Campaign": "launch" },
		tags: ["t"],
		metadata: { k: "v" },
	},
};

describe("render", () => {
	it("renders headers and both parts, keeps Bcc off the headers and custom headers on", async () => {
		const rendered = await render(input);
		if (!rendered.ok) throw new Error(rendered.error);
		const mime = rendered.value.message.raw;
		expect(mime).toMatch(/^Message-ID: <01m82psq3hzd8m2szs809cc750gnv554pm@example\.test>\r$/m);
		expect(mime).toMatch(/^Reply-To: reply@example\.test, =\?utf-8\?B\?UsOrcGx5\?= <r2@example\.test>\r$/m);
		expect(mime).toMatch(/^X-Campaign: launch\r$/m);
		expect(mime).toMatch(/^X-Mail-Queue-ID: 01M82PSQ3HZD8M2SZS809CC750GNV554PM\r$/m);
		expect(mime).toContain("multipart/alternative");
		expect(mime).toContain("<b>html</b>");
		expect(mime).not.toContain("hidden@x.test");
		expect(rendered.value.message.tags).toEqual(["t"]);
	});

	it("gives an envelope of the attempt's recipients with keys stable per message and recipient", async () => {
		const first = await render(input);
		const retry = await render({ ...input, attempt: 2, recipients: ["c@x.test"] });
		if (!first.ok || !retry.ok) throw new Error("render failed");
		expect(first.value.envelope.recipients.map((r) => r.email)).toEqual(["a@x.test", "c@x.test", "hidden@x.test"]);
		expect(first.value.envelope.from).toBe("app@example.test");
		const keyOf = (r: typeof first, email: string) =>
			r.ok ? r.value.envelope.recipients.find((x) => x.email === email)?.idempotencyKey : undefined;
		// The same recipient keeps its key on the next attempt; another recipient has another key.
		expect(keyOf(retry, "c@x.test")).toBe(keyOf(first, "c@x.test"));
		expect(keyOf(first, "a@x.test")).not.toBe(keyOf(first, "c@x.test"));
		// A call to a different recipient set is a different call for a provider that dedupes per call.
		expect(retry.value.envelope.idempotencyKey).not.toBe(first.value.envelope.idempotencyKey);
		const again = await render(input);
		expect(again.ok && again.value.envelope.idempotencyKey).toBe(first.value.envelope.idempotencyKey);
	});

	it("runs personalization, tracking, return path, header rewrite and DKIM in that order, before MIME", async () => {
		expect(RENDER_STAGES.map((s) => s.name)).toEqual([
			"personalization",
			"tracking",
			"return-path",
			"header-rewrite",
			"dkim",
		]);
		const seen: string[] = [];
		// A stage that a later issue fills: it sees the draft after the stages before it, and what it
		// changes is what the MIME and the drivers get.
		const stages: RenderStage[] = RENDER_STAGES.map((stage) =>
			stage.name === "personalization"
				? {
						name: stage.name,
						apply: (draft) => {
							seen.push(stage.name);
							return { ...draft, parts: { ...draft.parts, subject: "Hello Ada", html: "<b>Hi Ada</b>" } };
						},
					}
				: {
						name: stage.name,
						apply: async (draft, i) => {
							seen.push(stage.name);
							return stage.apply(draft, i);
						},
					},
		);
		const rendered = await renderWith(stages, input);
		if (!rendered.ok) throw new Error(rendered.error);
		expect(seen).toEqual(RENDER_STAGES.map((s) => s.name));
		expect(rendered.value.message.subject).toBe("Hello Ada");
		expect(rendered.value.message.raw).toContain("<b>Hi Ada</b>");
		expect(rendered.value.message.raw).toMatch(/^Subject: =\?utf-8\?B\?SGVsbG8gQWRh\?=\r$/m);
	});

	it("keeps relay-only headers out whatever a client sent, and fails permanently on a header line break", async () => {
		const spoof = await render({
			...input,
			message: { ...input.message, headers: { "X-Mail-Queue-ID": "forged", Sender: "boss@evil.test" } },
		});
		if (!spoof.ok) throw new Error(spoof.error);
		expect(spoof.value.message.raw).not.toContain("forged");
		expect(spoof.value.message.raw).not.toContain("boss@evil.test");

		const broken = await render({
			...input,
			message: { ...input.message, headers: { "X-Bad": "a\r\nBcc: x@y.test" } },
		});
		expect(broken).toEqual({ ok: false, error: expect.stringContaining("could not be rendered") });
		expect(broken.ok ? "" : broken.error).not.toContain("x@y.test");
	});
});
