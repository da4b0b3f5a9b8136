// Mail to an inbound route through email(): stored first (raw in R2, parsed fields in D1), then
// posted from the webhooks queue, signed Standard Webhooks style, with expiring attachment links.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { attachmentToken } from "../../src/domain/inbound/attachment-links";
import type { InboundPayload } from "../../src/domain/inbound/webhook-delivery";
import { fromBase64, toBase64 } from "../../src/lib/encoding";
import { deliverEmail, personalMail } from "../helpers/inbound";
import { json, RecordingQueue, request, runQueue } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

afterEach(() => vi.restoreAllMocks());

async function routeFor(key: string, match: string, webhookUrl: string | null) {
	const res = await request("/v1/inbound-routes", { key, body: { match, webhook_url: webhookUrl } });
	expect(res.status).toBe(201);
	return json<{ id: string; secret: string }>(res);
}

/** Standard Webhooks verification, written from the spec rather than from the relay's code. */
async function expectedSignature(secret: string, id: string, timestamp: string, body: string) {
	const key = await crypto.subtle.importKey(
		"raw",
		fromBase64(secret.slice("whsec_".length)),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign"],
	);
	const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
	return `v1,${toBase64(new Uint8Array(mac))}`;
}

type Stored = {
	id: string;
	kind: string;
	route_id: string;
	from_email: string;
	subject: string;
	text: string;
	raw_key: string;
	attachments: string;
	webhook_status: string;
	webhook_attempts: number;
};

const storedFor = (workspaceId: string) =>
	env.DB.prepare("SELECT * FROM inbound_messages WHERE workspace_id = ?").bind(workspaceId).all<Stored>();

describe("mail to an inbound route", () => {
	it("is stored, announced, and posted signed with attachment links that download until they expire", async () => {
		const ws = await createWorkspace();
		const route = await routeFor(ws.key, `support@${ws.domain}`, "https://hooks.example.com/inbound");
		const webhooks = new RecordingQueue();
		const events = new RecordingQueue();
		const raw = personalMail(`support@${ws.domain}`, "the attachment bytes");
		const got = await deliverEmail("ada@sender.test", `support@${ws.domain}`, raw, {
			WEBHOOKS_QUEUE: webhooks,
			EVENTS_QUEUE: events,
		});
		expect(got).toEqual({ rejected: null, threw: null });

		const { results } = await storedFor(ws.id);
		expect(results).toHaveLength(1);
		const row = results[0];
		expect(row).toMatchObject({
			kind: "routed",
			route_id: route.id,
			from_email: "ada@sender.test",
			subject: "Question about my order",
			webhook_status: "pending",
		});
		expect(row?.text.trim()).toBe("Where is my order?");
		expect(JSON.parse(row?.attachments ?? "[]")).toEqual([
			{ filename: "notes.txt", content_type: "text/plain", size: 20, content_id: null },
		]);
		const object = await env.BODIES.get(row?.raw_key ?? "");
		expect(await object?.text()).toBe(raw);
		const event = await env.DB.prepare("SELECT type, data FROM events WHERE workspace_id = ?")
			.bind(ws.id)
			.first<{ type: string; data: string }>();
		expect(event?.type).toBe("inbound_received");
		expect(JSON.parse(event?.data ?? "{}")).toMatchObject({ inbound_id: row?.id, kind: "routed", route_id: route.id });
		expect(events.sent).toHaveLength(1);
		expect(webhooks.sent).toContainEqual({ v: 1, kind: "inbound_webhook", inboundId: row?.id, workspaceId: ws.id });

		const posted: { url: string; headers: Headers; body: string }[] = [];
		vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
			posted.push({ url: String(input), headers: new Headers(init?.headers), body: String(init?.body) });
			return new Response("ok", { status: 200 });
		});
		const job = webhooks.sent.find((j) => (j as { kind?: string }).kind === "inbound_webhook");
		const result = await runQueue("mq-webhooks", [job]);
		expect(result.explicitAcks).toEqual(result.ids);
		expect(posted).toHaveLength(1);
		const call = posted[0];
		expect(call?.url).toBe("https://hooks.example.com/inbound");
		const id = call?.headers.get("webhook-id") ?? "";
		const timestamp = call?.headers.get("webhook-timestamp") ?? "";
		expect(id).toBe(row?.id);
		expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
		expect(call?.headers.get("webhook-signature")).toBe(
			await expectedSignature(route.secret, id, timestamp, call?.body ?? ""),
		);
		const payload = JSON.parse(call?.body ?? "{}") as InboundPayload;
		expect(payload).toMatchObject({
			type: "inbound.received",
			id: row?.id,
			envelope: { mail_from: "ada@sender.test", rcpt_to: `support@${ws.domain}` },
			from: { email: "ada@sender.test", name: "Ada Lovelace" },
			subject: "Question about my order",
		});
		expect(payload.text?.trim()).toBe("Where is my order?");
		const link = payload.attachments[0]?.url ?? "";
		expect(link).toMatch(/^http:\/\/localhost:8787\/v1\/inbound\/attachments\//);
		vi.restoreAllMocks();

		const download = await request(new URL(link).pathname);
		expect(download.status).toBe(200);
		expect(download.headers.get("content-type")).toBe("text/plain");
		expect(download.headers.get("content-disposition")).toBe('attachment; filename="notes.txt"');
		expect(await download.text()).toBe("the attachment bytes");
		const tampered = new URL(link).pathname.replace(/\.0\./, ".1.");
		expect((await request(tampered)).status).toBe(404);
		const expired = await attachmentToken(env.SIGNING_KEY, { inboundId: row?.id ?? "", index: 0 }, Date.now() - 1000);
		const gone = await request(`/v1/inbound/attachments/${expired}`);
		expect(gone.status).toBe(410);
		expect((await json<{ error: { code: string } }>(gone)).error.code).toBe("link_expired");

		const after = (await storedFor(ws.id)).results[0];
		expect(after).toMatchObject({ webhook_status: "delivered", webhook_attempts: 1 });
		// The same message delivered again (an MTA retry) is the same row, and is not announced twice.
		await deliverEmail("ada@sender.test", `support@${ws.domain}`, raw, {
			WEBHOOKS_QUEUE: webhooks,
			EVENTS_QUEUE: events,
		});
		expect((await storedFor(ws.id)).results).toHaveLength(1);
		expect(events.sent).toHaveLength(1);
	});

	it("retries a failing webhook with backoff and keeps the mail", async () => {
		const ws = await createWorkspace();
		await routeFor(ws.key, ws.domain, "https://hooks.example.com/down");
		const webhooks = new RecordingQueue();
		await deliverEmail("ada@sender.test", `anyone@${ws.domain}`, personalMail(`anyone@${ws.domain}`), {
			WEBHOOKS_QUEUE: webhooks,
		});
		vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response("down", { status: 503 }));
		const jobs = webhooks.sent.filter((j) => (j as { kind?: string }).kind === "inbound_webhook");
		const result = await runQueue("mq-webhooks", jobs);
		expect(result.retryMessages.map((m) => m.msgId)).toEqual([result.ids[0]]);
		expect((await storedFor(ws.id)).results[0]).toMatchObject({ webhook_status: "pending", webhook_attempts: 1 });
	});

	it("stores mail for a storage-only route without posting anything", async () => {
		const ws = await createWorkspace();
		await routeFor(ws.key, ws.domain, null);
		const webhooks = new RecordingQueue();
		const got = await deliverEmail("ada@sender.test", `x@${ws.domain}`, personalMail(`x@${ws.domain}`), {
			WEBHOOKS_QUEUE: webhooks,
		});
		expect(got.rejected).toBeNull();
		expect((await storedFor(ws.id)).results[0]).toMatchObject({ kind: "routed", webhook_status: "none" });
		expect(webhooks.sent.filter((j) => (j as { kind?: string }).kind === "inbound_webhook")).toEqual([]);
	});

	it("refuses mail to an address no route takes (550 5.1.1) and stores nothing", async () => {
		const ws = await createWorkspace();
		await routeFor(ws.key, `support@${ws.domain}`, null);
		const got = await deliverEmail("ada@sender.test", `sales@${ws.domain}`, personalMail(`sales@${ws.domain}`));
		expect(got.rejected).toBe("550 5.1.1 No such recipient here");
		const elsewhere = await deliverEmail(
			"ada@sender.test",
			"someone@unrouted.test",
			personalMail("someone@unrouted.test"),
		);
		expect(elsewhere.rejected).toBe("550 5.1.1 No such recipient here");
		expect((await storedFor(ws.id)).results).toEqual([]);
		// The routed address on the same domain is taken: the refusal is about the address.
		expect(
			(await deliverEmail("ada@sender.test", `support@${ws.domain}`, personalMail(`support@${ws.domain}`))).rejected,
		).toBeNull();
	});
});
