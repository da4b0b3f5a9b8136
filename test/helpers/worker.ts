// Drives the Worker's entrypoints from tests: HTTP through the exported fetch with its waitUntil work
// awaited, the send consumer through a real MessageBatch, and a recording queue for tests that must
// see exactly what the API enqueued (or that it enqueued nothing).
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Env } from "../../src/env";
import { EXAMPLE_EMAIL } from "../../src/http/schemas/emails";
import worker from "../../workers/index";

const emptyMetrics = { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };

// The platform's limits, enforced here as Cloudflare Queues enforce them (Miniflare does not all).
const MAX_MESSAGE_BYTES = 128 * 1024;
const MAX_BATCH_MESSAGES = 100;
const MAX_BATCH_BYTES = 256 * 1024;
const bytesOf = (body: unknown) => new TextEncoder().encode(JSON.stringify(body)).byteLength;

/**
 * A producer that keeps what it is given, refusing what the real queue would refuse.
 * `gate` holds sends open; `failure` makes them throw.
 */
export class RecordingQueue implements Queue<unknown> {
	readonly sent: unknown[] = [];
	/** The delay each entry of `sent` was given, in seconds (0 when none). */
	readonly delays: number[] = [];
	sendCalls = 0;
	batchCalls = 0;
	gate: Promise<void> | null = null;
	failure: Error | null = null;
	private entered: (() => void) | null = null;

	/** Resolves when the next send or sendBatch starts. */
	nextSend(): Promise<void> {
		return new Promise((resolve) => {
			this.entered = resolve;
		});
	}

	private async enter(): Promise<void> {
		this.entered?.();
		this.entered = null;
		if (this.gate) await this.gate;
		if (this.failure) throw this.failure;
	}

	async send(body: unknown, options?: QueueSendOptions): Promise<QueueSendResponse> {
		this.sendCalls++;
		await this.enter();
		if (bytesOf(body) > MAX_MESSAGE_BYTES) throw new Error("Queue send() exceeds the 128 KB message limit");
		this.sent.push(body);
		this.delays.push(options?.delaySeconds ?? 0);
		return emptyMetrics;
	}

	async sendBatch(messages: Iterable<MessageSendRequest<unknown>>): Promise<QueueSendBatchResponse> {
		this.batchCalls++;
		await this.enter();
		const list = [...messages];
		const total = list.reduce((sum, m) => sum + bytesOf(m.body), 0);
		if (list.length > MAX_BATCH_MESSAGES || total > MAX_BATCH_BYTES) {
			throw new Error(`Queue sendBatch() of ${list.length} messages / ${total} bytes exceeds 100 / 256 KB`);
		}
		for (const m of list) {
			if (bytesOf(m.body) > MAX_MESSAGE_BYTES) throw new Error("Queue sendBatch() message exceeds 128 KB");
			this.sent.push(m.body);
			this.delays.push(m.delaySeconds ?? 0);
		}
		return emptyMetrics;
	}

	async metrics(): Promise<QueueMetrics> {
		return { backlogCount: this.sent.length, backlogBytes: 0 };
	}
}

export type RequestOptions = {
	key?: string | undefined;
	body?: unknown;
	rawBody?: string;
	headers?: Record<string, string>;
	method?: string;
	env?: Partial<Env>;
};

export function testEnv(overrides: Partial<Env> = {}): Env {
	// A test that records the send queue records both priority bands in it, unless it records the
	// high band (mq-send-high, src/domain/messages/bands.ts) on its own.
	const bands = overrides.SEND_QUEUE && !overrides.SEND_QUEUE_HIGH ? { SEND_QUEUE_HIGH: overrides.SEND_QUEUE } : {};
	return { ...env, ...bands, ...overrides } as Env;
}

export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
	const headers: Record<string, string> = { ...options.headers };
	if (options.key) headers.authorization = `Bearer ${options.key}`;
	let body: string | undefined = options.rawBody;
	if (options.body !== undefined) {
		body = JSON.stringify(options.body);
		headers["content-type"] ??= "application/json";
	}
	const ctx = createExecutionContext();
	const response = await worker.fetch(
		new Request(`https://relay.test${path}`, {
			method: options.method ?? (body === undefined ? "GET" : "POST"),
			headers,
			body,
		}),
		testEnv(options.env),
		ctx,
	);
	await waitOnExecutionContext(ctx);
	return response;
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
	return (await response.json()) as T;
}

type QueueResult = {
	outcome: string;
	ackAll: boolean;
	retryBatch: { retry: boolean; delaySeconds?: number };
	explicitAcks: string[];
	retryMessages: { msgId: string; delaySeconds?: number }[];
};

let sequence = 0;

/** Runs the queue consumer on `bodies` as one batch and returns what it acked and retried. */
export async function runQueue(queue: string, bodies: unknown[], overrides: Partial<Env> = {}) {
	const messages = bodies.map((body) => ({ id: `msg-${++sequence}`, timestamp: new Date(), attempts: 1, body }));
	const batch = createMessageBatch(queue, messages);
	const ctx = createExecutionContext();
	await worker.queue(batch, testEnv(overrides), ctx);
	// The runtime types wrangler generates lack FetcherQueueResult, so its shape is stated here.
	const result = (await getQueueResult(batch, ctx)) as unknown as QueueResult;
	return { ...result, ids: messages.map((m) => m.id) };
}

/** The README's message, sent from the workspace's own domain. */
export function sampleEmail(domain: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
	return { ...EXAMPLE_EMAIL, from: `App <app@${domain}>`, ...overrides };
}

/** Rows the workspace has in a table, to prove a refused request wrote nothing. */
export async function countRows(
	table: "messages" | "events" | "api_keys" | "domains",
	workspaceId: string,
): Promise<number> {
	const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE workspace_id = ?`)
		.bind(workspaceId)
		.first<{ n: number }>();
	return row?.n ?? 0;
}

/** A body of `total` bytes produced on demand, counting how often the reader pulled from it. */
function recordingBody(total: number) {
	const chunk = new Uint8Array(64 * 1024).fill(0x61);
	let produced = 0;
	const stats = { pulls: 0 };
	const stream = new ReadableStream<Uint8Array>(
		{
			pull(controller) {
				stats.pulls++;
				if (produced >= total) return controller.close();
				const n = Math.min(chunk.length, total - produced);
				produced += n;
				controller.enqueue(chunk.subarray(0, n));
			},
		},
		{ highWaterMark: 0 },
	);
	return { stream, stats };
}

/**
 * Sends a JSON request whose `total`-byte body is streamed on demand, and says how often the Worker
 * pulled from it: 0 pulls beyond the first proves the body was never read.
 */
export async function requestWithStreamedBody(
	path: string,
	total: number,
	headers: Record<string, string>,
	method = "POST",
): Promise<{ res: Response; stats: { pulls: number } }> {
	const { stream, stats } = recordingBody(total);
	const ctx = createExecutionContext();
	const res = await worker.fetch(
		new Request(`https://relay.test${path}`, {
			method,
			headers: { "content-type": "application/json", "content-length": String(total), ...headers },
			body: stream,
		}),
		testEnv(),
		ctx,
	);
	await waitOnExecutionContext(ctx);
	return { res, stats };
}
