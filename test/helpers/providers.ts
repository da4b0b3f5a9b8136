// Builds drivers for tests with an intercepting fetch: every outbound request is recorded and
// answered by the test, and an unexpected one fails loudly instead of reaching the network.
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { DriverFactory, Envelope, Gateway, GatewaySpec, RenderedMessage } from "../../src/providers/types";

export type Answer = { status?: number; body?: unknown; headers?: Record<string, string> } | Error;
export type Recorded = { request: Request; body: string };

/** A fetch that answers each call with the next answer (the last one repeats). */
export function scriptedFetch(...answers: Answer[]) {
	const calls: Recorded[] = [];
	const fetch: typeof globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
		const request = new Request(input, init);
		const multipart = request.headers.get("content-type")?.startsWith("multipart/") ?? false;
		// Bytes, not .text(): workerd warns about reading non-text bodies as text.
		const sent = multipart ? "" : new TextDecoder().decode(await request.clone().arrayBuffer());
		calls.push({ request: request.clone(), body: sent });
		const answer = answers[Math.min(calls.length - 1, answers.length - 1)];
		if (answer === undefined) throw new Error(`unexpected request ${request.method} ${request.url}`);
		if (answer instanceof Error) throw answer;
		const body = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body ?? {});
		return new Response(body, { status: answer.status ?? 200, headers: answer.headers });
	};
	return { fetch, calls };
}

export function build(
	factory: DriverFactory,
	spec: Omit<GatewaySpec, "id"> & { id?: string },
	fetch: typeof globalThis.fetch,
	extra: { email?: SendEmail; environment?: "development" | "test" | "staging" | "production" } = {},
): Gateway {
	const built = factory(
		{ id: spec.id ?? "gw_test", ...spec },
		{ bodies: env.BODIES, fetch, environment: extra.environment ?? "test", email: extra.email },
	);
	if ("error" in built) throw new Error(`driver refused its configuration: ${built.error}`);
	return built;
}

export function buildError(factory: DriverFactory, spec: Omit<GatewaySpec, "id">, environment = "production" as const) {
	const built = factory({ id: "gw_test", ...spec }, { bodies: env.BODIES, fetch, environment });
	expect("error" in built, "the driver should refuse this configuration").toBe(true);
	return "error" in built ? built.error : "";
}

const RAW = [
	"From: App <app@example.test>",
	"To: Ada <ada@example.org>, bob@example.org",
	"Cc: cy@example.org",
	"Subject: Hello",
	"Message-ID: <msg_1@example.test>",
	"MIME-Version: 1.0",
	'Content-Type: text/plain; charset="utf-8"',
	"",
	"Hello Ada.",
	".leading dot line",
	"",
].join("\r\n");

export function sampleMessage(overrides: Partial<RenderedMessage> = {}): RenderedMessage {
	return {
		id: "msg_01TEST",
		workspaceId: "ws_test",
		from: { email: "app@example.test", name: "App" },
		to: [{ email: "ada@example.org", name: "Ada" }, { email: "bob@example.org" }],
		cc: [{ email: "cy@example.org" }],
		replyTo: [{ email: "support@example.test" }],
		subject: "Hello",
		html: "<p>Hello Ada.</p>",
		text: "Hello Ada.",
		attachments: [
			{ filename: "a.txt", contentType: "text/plain", content: "aGVsbG8=" },
			{ filename: "logo.png", contentType: "image/png", content: "iVBORw0KGgo=", contentId: "logo" },
		],
		messageIdHeader: "<msg_1@example.test>",
		headers: [["X-Campaign", "spring"]],
		tags: ["welcome", "onboarding"],
		metadata: { user_id: "42" },
		raw: RAW,
		...overrides,
	};
}

export function envelopeOf(...emails: string[]): Envelope {
	return {
		from: "bounce+msg_01TEST@example.test",
		recipients: emails.map((email, i) => ({ email, idempotencyKey: `msg_01TEST:${i}` })),
		idempotencyKey: "msg_01TEST:a1",
		attempt: 1,
	};
}

export const ALL = ["ada@example.org", "bob@example.org", "cy@example.org", "dee@example.org"];

export const signal = () => new AbortController().signal;
