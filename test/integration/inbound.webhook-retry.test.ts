// The inbound webhook's retry schedule and its end: each failed attempt waits longer (10 s, 1 min,
// 5 min, 30 min, 1 h), a timeout or network error counts as a failure, and after the last the
// delivery is `failed` while the mail stays stored.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliverInboundWebhooks, INBOUND_WEBHOOK_BACKOFF } from "../../src/domain/inbound/webhook-delivery";
import { deliverEmail, personalMail } from "../helpers/inbound";
import { json, RecordingQueue, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

/** A queue message as the consumer sees it, recording what it was told. */
function queued(body: unknown, attempts: number) {
	const seen: { acked: boolean; retry: number | null } = { acked: false, retry: null };
	const message = {
		id: `m-${attempts}`,
		timestamp: new Date(),
		attempts,
		body,
		ack: () => {
			seen.acked = true;
		},
		retry: (options?: QueueRetryOptions) => {
			seen.retry = options?.delaySeconds ?? 0;
		},
	} as unknown as Message<unknown>;
	return { message, seen };
}

async function storedJob() {
	const ws = await createWorkspace();
	const res = await request("/v1/inbound-routes", {
		key: ws.key,
		body: { match: ws.domain, webhook_url: "https://hooks.example.com/x" },
	});
	expect(res.status).toBe(201);
	await json(res);
	const webhooks = new RecordingQueue();
	await deliverEmail("a@sender.test", `in@${ws.domain}`, personalMail(`in@${ws.domain}`), { WEBHOOKS_QUEUE: webhooks });
	const job = webhooks.sent.find((j) => (j as { kind?: string }).kind === "inbound_webhook") as { inboundId: string };
	return { ws, job };
}

const deps = (answer: () => Promise<Response>) => ({
	db: env.DB,
	bodies: env.BODIES,
	signingKey: env.SIGNING_KEY,
	encryptionKey: env.ENCRYPTION_KEY,
	publicUrl: "https://relay.example.com",
	fetch: answer as unknown as typeof fetch,
	now: Date.now,
});

const state = (id: string) =>
	env.DB.prepare("SELECT webhook_status, webhook_attempts, webhook_response_code FROM inbound_messages WHERE id = ?")
		.bind(id)
		.first<{ webhook_status: string; webhook_attempts: number; webhook_response_code: number | null }>();

describe("inbound webhook retries", () => {
	it("backs off 10 s, 1 min, 5 min, 30 min, 1 h, then marks the delivery failed", async () => {
		const { job } = await storedJob();
		const failing = deps(async () => new Response("nope", { status: 500 }));
		const delays: (number | null)[] = [];
		for (let attempt = 1; attempt <= INBOUND_WEBHOOK_BACKOFF.length; attempt++) {
			const { message, seen } = queued(job, attempt);
			await deliverInboundWebhooks([message], failing);
			delays.push(seen.retry);
			expect(seen.acked).toBe(false);
		}
		expect(delays).toEqual([10, 60, 300, 1800, 3600]);
		expect(await state(job.inboundId)).toMatchObject({ webhook_status: "pending", webhook_response_code: 500 });
		const last = queued(job, INBOUND_WEBHOOK_BACKOFF.length + 1);
		await deliverInboundWebhooks([last.message], failing);
		expect(last.seen).toEqual({ acked: true, retry: null });
		expect(await state(job.inboundId)).toMatchObject({ webhook_status: "failed", webhook_attempts: 6 });
	});

	it("counts a network failure as a failed attempt, and a later success delivers", async () => {
		const { job } = await storedJob();
		const down = queued(job, 1);
		await deliverInboundWebhooks(
			[down.message],
			deps(async () => {
				throw new TypeError("fetch failed");
			}),
		);
		expect(down.seen.retry).toBe(10);
		expect(await state(job.inboundId)).toMatchObject({ webhook_status: "pending", webhook_response_code: null });
		const up = queued(job, 2);
		await deliverInboundWebhooks(
			[up.message],
			deps(async () => new Response(null, { status: 204 })),
		);
		expect(up.seen.acked).toBe(true);
		expect(await state(job.inboundId)).toMatchObject({ webhook_status: "delivered", webhook_response_code: 204 });
		// A copy of the job after delivery posts nothing again.
		let calls = 0;
		const copy = queued(job, 1);
		await deliverInboundWebhooks(
			[copy.message],
			deps(async () => {
				calls++;
				return new Response(null, { status: 200 });
			}),
		);
		expect([copy.seen.acked, calls]).toEqual([true, 0]);
	});
});
