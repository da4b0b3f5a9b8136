// Splitting queue messages into `sendBatch` calls within the platform's limits: at most 100 messages
// and 256 KB per call (a little under, for per-message overhead).
import { utf8Length } from "./encoding";
import { errorSummary } from "./log";

export const SEND_BATCH_MAX_MESSAGES = 100;
export const SEND_BATCH_MAX_BYTES = 250 * 1024;
/** What the platform counts per message beyond its body. */
const PER_MESSAGE_OVERHEAD_BYTES = 64;

/** Indexes of `bodies` grouped into chunks that each fit one `sendBatch` call, in order. */
export function sendBatchChunks(bodies: readonly string[]): number[][] {
	const chunks: number[][] = [];
	let current: number[] = [];
	let bytes = 0;
	bodies.forEach((body, index) => {
		const size = utf8Length(body) + PER_MESSAGE_OVERHEAD_BYTES;
		if (current.length === SEND_BATCH_MAX_MESSAGES || (current.length > 0 && bytes + size > SEND_BATCH_MAX_BYTES)) {
			chunks.push(current);
			current = [];
			bytes = 0;
		}
		current.push(index);
		bytes += size;
	});
	if (current.length > 0) chunks.push(current);
	return chunks;
}

/** Sends `bodies` in as few `sendBatch` calls as fit, in parallel; resolves per body whether it is durable. */
export async function sendAll(
	queue: Queue,
	bodies: readonly unknown[],
	delaySeconds: (index: number) => number = () => 0,
): Promise<boolean[]> {
	const chunks = sendBatchChunks(bodies.map((b) => JSON.stringify(b)));
	const durable = bodies.map(() => false);
	await Promise.all(
		chunks.map(async (indexes) => {
			try {
				await queue.sendBatch(
					indexes.map((i) => ({ body: bodies[i], contentType: "json" as const, delaySeconds: delaySeconds(i) })),
				);
				for (const i of indexes) durable[i] = true;
			} catch (error) {
				console.error("queue sendBatch failed", { size: indexes.length, error: errorSummary(error) });
			}
		}),
	);
	return durable;
}

/**
 * One producer over two Cloudflare Queues: what `isHigh` picks goes to `high`, the rest to `normal`
 * (a `sendBatch` is split in two). Without a `high` binding, everything goes to `normal`.
 */
export function bandedQueue(normal: Queue, high: Queue | undefined, isHigh: (body: unknown) => boolean): Queue {
	if (!high || high === normal) return normal;
	return {
		send: (body, options) => (isHigh(body) ? high : normal).send(body, options),
		async sendBatch(messages, options) {
			const list = [...messages];
			const up = list.filter((m) => isHigh(m.body));
			const rest = list.filter((m) => !isHigh(m.body));
			const [first] = await Promise.all([
				rest.length > 0 || up.length === 0 ? normal.sendBatch(rest, options) : null,
				up.length > 0 ? high.sendBatch(up, options) : null,
			]);
			return first ?? { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
		},
		metrics: () => normal.metrics(),
	};
}
