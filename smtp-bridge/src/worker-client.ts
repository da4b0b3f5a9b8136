// The bridge's two calls to the Worker, each with a timeout and a classified answer:
// POST /v1/smtp/auth when a client logs in (successes cached briefly) and POST /v1/smtp/messages
// for each message, both with the client's AUTH user name and password as Basic credentials (the
// Worker takes an API key as the password whatever the user name, or an SMTP credential).
import { createHash } from "node:crypto";

/** How a call ended: the Worker's JSON answer, or no answer at all. */
export type WorkerAnswer =
	| { kind: "ok"; status: number; body: Record<string, unknown>; replayed: boolean }
	| { kind: "refused"; status: number; code: string; message: string; retryAfter: string | null }
	| { kind: "unreachable"; reason: "timeout" | "network" | "bad_response" };

export type Submission = { mailFrom: string; rcptTo: string[]; raw: Buffer };
export type Login = { username: string; password: string };

const basic = (login: Login) => `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`;

export type WorkerClientOptions = {
	baseUrl: string;
	timeoutMs: number;
	authCacheMs: number;
	onLatency?: (ms: number, path: string) => void;
};

/**
 * Key order is fixed: the Worker fingerprints the body for idempotency, so the same SMTP transaction
 * retried must serialize to the same bytes.
 */
function serialize(submission: Submission): string {
	return JSON.stringify({
		mail_from: submission.mailFrom,
		rcpt_to: submission.rcptTo,
		raw: submission.raw.toString("base64"),
	});
}

/** Bounds the auth cache: a flood of distinct passwords only evicts the oldest entries. */
const MAX_AUTH_CACHE = 10_000;

export class WorkerClient {
	private readonly authCache = new Map<string, number>();

	constructor(private readonly options: WorkerClientOptions) {}

	/** Relay for a trusted network: no client login, the bridge's own secret. */
	relay(secret: string, submission: Submission): Promise<WorkerAnswer> {
		return this.call("/v1/smtp/relay", `Bearer ${secret}`, serialize(submission));
	}

	/** Checks a key; a success is remembered for authCacheMs, a refusal never (the limiter counts it). */
	async auth(login: Login): Promise<WorkerAnswer> {
		const id = createHash("sha256").update(`${login.username}\n${login.password}`).digest("hex");
		const until = this.authCache.get(id);
		if (until !== undefined && until > Date.now()) return { kind: "ok", status: 200, body: {}, replayed: false };
		const answer = await this.call("/v1/smtp/auth", basic(login), "{}");
		if (answer.kind === "ok" && this.options.authCacheMs > 0) {
			this.authCache.delete(id);
			this.authCache.set(id, Date.now() + this.options.authCacheMs);
			if (this.authCache.size > MAX_AUTH_CACHE) {
				const oldest = this.authCache.keys().next();
				if (!oldest.done) this.authCache.delete(oldest.value);
			}
		}
		return answer;
	}

	submit(login: Login, submission: Submission): Promise<WorkerAnswer> {
		return this.call("/v1/smtp/messages", basic(login), serialize(submission));
	}

	private async call(path: string, authorization: string, body: string): Promise<WorkerAnswer> {
		const started = performance.now();
		let response: Response;
		try {
			response = await fetch(new URL(path, this.options.baseUrl), {
				method: "POST",
				headers: { authorization, "content-type": "application/json" },
				body,
				signal: AbortSignal.timeout(this.options.timeoutMs),
				redirect: "manual",
			});
		} catch (error) {
			const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
			return { kind: "unreachable", reason: timedOut ? "timeout" : "network" };
		}
		let json: unknown;
		try {
			json = await response.json();
		} catch {
			json = null;
		} finally {
			this.options.onLatency?.(performance.now() - started, path);
		}
		const object = json && typeof json === "object" ? (json as Record<string, unknown>) : null;
		if (response.status >= 200 && response.status < 300) {
			if (!object) return { kind: "unreachable", reason: "bad_response" };
			return {
				kind: "ok",
				status: response.status,
				body: object,
				replayed: response.headers.has("idempotent-replayed"),
			};
		}
		const error = object?.error && typeof object.error === "object" ? (object.error as Record<string, unknown>) : {};
		return {
			kind: "refused",
			status: response.status,
			code: typeof error.code === "string" ? error.code : "unknown",
			message: typeof error.message === "string" ? error.message : `HTTP ${response.status}`,
			retryAfter: response.headers.get("retry-after"),
		};
	}
}
