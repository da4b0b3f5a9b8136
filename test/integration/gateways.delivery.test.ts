// Real gateway types through the whole pipeline: created with the API (credentials sealed in D1),
// built by the consumer from the registry, answering per recipient, and never leaking a credential
// into last_error, events or logs even when the provider echoes it back.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { eventTypes, messageState, recipientStates } from "../helpers/delivery";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace, insertKey } from "../helpers/workspace";

const SECRET = "re_live_SuperSecretKey_0123456789";

afterEach(() => vi.restoreAllMocks());

async function liveWorkspaceWithResend() {
	const ws = await createWorkspace({ gateway: false });
	const admin = await insertKey(ws.id, { mode: "live", scopes: ["admin"] });
	const created = await request("/v1/gateways", {
		key: admin.key,
		body: {
			name: "Resend",
			type: "resend",
			enabled: true,
			priority: 1,
			weight: 1,
			config: {},
			credentials: { api_key: SECRET },
		},
	});
	expect(created.status).toBe(201);
	return { ws, admin };
}

describe("delivery through a configured provider", () => {
	it("sends through the workspace's gateway with its decrypted key, per recipient, with stable idempotency keys", async () => {
		const { ws, admin } = await liveWorkspaceWithResend();
		const calls: Request[] = [];
		vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
			const req = new Request(input, init);
			calls.push(req.clone());
			return Response.json({ id: `re_${calls.length}` });
		});
		const queue = new RecordingQueue();
		const res = await request("/v1/emails", {
			key: admin.key,
			body: sampleEmail(ws.domain, { to: ["a@x.test"], cc: ["c@x.test"] }),
			env: { SEND_QUEUE: queue },
		});
		const { id } = await json<{ id: string }>(res);
		await runQueue("mq-send", queue.sent, { SEND_QUEUE: new RecordingQueue() });
		expect(calls.length).toBeGreaterThanOrEqual(1);
		expect(calls[0]?.url).toBe("https://api.resend.com/emails");
		expect(calls[0]?.headers.get("authorization")).toBe(`Bearer ${SECRET}`);
		expect(calls[0]?.headers.get("idempotency-key")).toMatch(new RegExp(`^${id}`));
		expect(await messageState(id)).toMatchObject({ status: "sent", provider_message_id: "re_1" });
		expect((await recipientStates(id)).map((r) => r.status)).toEqual(["sent", "sent"]);

		// The same message redelivered by the queue is not sent again.
		await runQueue("mq-send", queue.sent, { SEND_QUEUE: new RecordingQueue() });
		expect((await eventTypes(id)).filter((e) => e.startsWith("sent"))).toHaveLength(2);
	});

	it("classifies a refused key as auth and keeps the key out of last_error, events and logs", async () => {
		const { ws, admin } = await liveWorkspaceWithResend();
		// A provider that quotes the credential in its error, the worst case for leaks.
		vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
			const auth = new Request(input, init).headers.get("authorization") ?? "";
			return Response.json(
				{ statusCode: 401, name: "invalid_api_key", message: `API key is invalid: ${auth}` },
				{ status: 401 },
			);
		});
		const logged: string[] = [];
		for (const level of ["log", "warn", "error", "info", "debug"] as const) {
			vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
				logged.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
			});
		}
		const queue = new RecordingQueue();
		const res = await request("/v1/emails", {
			key: admin.key,
			body: sampleEmail(ws.domain),
			env: { SEND_QUEUE: queue },
		});
		const { id } = await json<{ id: string }>(res);
		const events = new RecordingQueue();
		await runQueue("mq-send", queue.sent, { SEND_QUEUE: new RecordingQueue(), EVENTS_QUEUE: events });
		const state = await messageState(id);
		expect(state).toMatchObject({ status: "deferred", last_error: expect.stringMatching(/^auth: /) });

		const { results } = await env.DB.prepare(
			`SELECT last_error AS t FROM messages WHERE id = ?1 UNION ALL SELECT last_error FROM message_recipients WHERE message_id = ?1
			 UNION ALL SELECT data FROM events WHERE message_id = ?1`,
		)
			.bind(id)
			.all<{ t: string | null }>();
		const email = await (await request(`/v1/emails/${id}`, { key: admin.key })).text();
		const haystack = [...results.map((r) => r.t ?? ""), email, JSON.stringify(events.sent), ...logged].join("\n");
		expect(haystack).toContain("auth:");
		expect(haystack).not.toContain(SECRET);
		expect(haystack).not.toContain(SECRET.slice(8));
		// The row keeps only the sealed form.
		const sealed = await env.DB.prepare("SELECT credentials_enc FROM gateways WHERE workspace_id = ?")
			.bind(ws.id)
			.first<{ credentials_enc: string }>();
		expect(sealed?.credentials_enc).toMatch(/^v1\./);
		expect(sealed?.credentials_enc).not.toContain(SECRET);
	});
});
