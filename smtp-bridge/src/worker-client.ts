// The bridge's calls to the Worker, each with a timeout and a classified answer: POST /v1/smtp/auth
// when a client logs in (successes cached briefly) and POST /v1/smtp/messages for each message, both
// with the client's AUTH user name and password as Basic credentials (the Worker takes an API key as
// the password whatever the user name, or an SMTP credential); /v1/smtp/relay and MX mode's
// /v1/smtp/inbound[/recipient] with the bridge secret. The client's IP travels as X-Client-IP, which
// the Worker believes only next to the bridge secret (X-Bridge-Authorization on the Basic routes).
import { createHash } from "node:crypto";

/** How a call ended: the Worker's JSON answer, or no answer at all. */
export type WorkerAnswer =
	| { kind: "ok"; status: number; body: Record<string, unknown>; replayed: boolean }
	| { kind: "refused"; status: number; code: string; message: string; retryAfter: string | null }
	| { kind: "unreachable"; reason: "timeout" | "network" | "bad_response" };

export type Submission = { mailFrom: string; rcptTo: string[]; raw: Buffer; clientIp?: string | undefined };
export type Login = { username: string; password: string };
/** MX mode's question at RCPT TO, and the Worker's answer (a refusal carries its SMTP reply). */
export type RecipientAnswer =
	| { kind: "answer"; accept: true }
	| { kind: "answer"; accept: false; code: number; enhanced: string; message: string }
	| { kind: "failed"; answer: WorkerAnswer };

const basic = (login: Login) => `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`;

export type WorkerClientOptions = {
	baseUrl: string;
	timeoutMs: number;
	authCacheMs: number;
	/** The Worker's SMTP_BRIDGE_SECRET, when this bridge has it: sent so X-Client-IP is believed. */
	bridgeSecret?: string | undefined;
	/** How long MX mode reuses an answer for one (MAIL FROM, RCPT TO); 0 never. */
	recipientCacheMs?: number;
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

/** Bounds the auth and recipient caches: a flood of distinct keys only evicts the oldest entries. */
const MAX_CACHE = 10_000;

/** A small TTL map; `set` evicts the oldest entry past MAX_CACHE. */
class TtlCache<V> {
	private readonly entries = new Map<string, { value: V; until: number }>();

	get(key: string): V | undefined {
		const hit = this.entries.get(key);
		if (hit === undefined) return undefined;
		if (hit.until > Date.now()) return hit.value;
		this.entries.delete(key);
		return undefined;
	}

	set(key: string, value: V, ttlMs: number): void {
		if (ttlMs <= 0) return;
		this.entries.delete(key);
		this.entries.set(key, { value, until: Date.now() + ttlMs });
		if (this.entries.size > MAX_CACHE) {
			const oldest = this.entries.keys().next();
			if (!oldest.done) this.entries.delete(oldest.value);
		}
	}
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export class WorkerClient {
	private readonly authCache = new TtlCache<true>();
	private readonly recipientCache = new TtlCache<RecipientAnswer>();

	constructor(private readonly options: WorkerClientOptions) {}

	/** X-Client-IP, and on Basic routes the bridge secret that makes the Worker believe it. */
	private clientHeaders(clientIp: string | undefined, basicRoute: boolean): Record<string, string> {
		if (clientIp === undefined) return {};
		const secret = this.options.bridgeSecret;
		if (!basicRoute) return { "x-client-ip": clientIp };
		return secret ? { "x-client-ip": clientIp, "x-bridge-authorization": `Bearer ${secret}` } : {};
	}

	/** Relay for a trusted network: no client login, the bridge's own secret. */
	relay(secret: string, submission: Submission): Promise<WorkerAnswer> {
		return this.call("/v1/smtp/relay", `Bearer ${secret}`, serialize(submission), {
			headers: this.clientHeaders(submission.clientIp, false),
		});
	}

	/**
	 * Checks a key; a success is remembered for authCacheMs, a refusal never (the limiter counts it).
	 * The client's IP is part of the cache key: a key's IP allowlist is checked against it.
	 */
	async auth(login: Login, clientIp?: string): Promise<WorkerAnswer> {
		const id = sha256(`${login.username}\n${login.password}\n${clientIp ?? ""}`);
		if (this.authCache.get(id)) return { kind: "ok", status: 200, body: {}, replayed: false };
		const answer = await this.call("/v1/smtp/auth", basic(login), "{}", {
			headers: this.clientHeaders(clientIp, true),
		});
		if (answer.kind === "ok") this.authCache.set(id, true, this.options.authCacheMs);
		return answer;
	}

	submit(login: Login, submission: Submission): Promise<WorkerAnswer> {
		return this.call("/v1/smtp/messages", basic(login), serialize(submission), {
			headers: this.clientHeaders(submission.clientIp, true),
		});
	}

	/**
	 * MX mode at RCPT TO: may this recipient receive mail? Answers (accept or refuse) are reused for
	 * recipientCacheMs; failures never, so a Worker that comes back is asked again at once.
	 */
	async inboundRecipient(secret: string, mailFrom: string, recipient: string): Promise<RecipientAnswer> {
		const id = sha256(`${mailFrom.toLowerCase()}\n${recipient.toLowerCase()}`);
		const cached = this.recipientCache.get(id);
		if (cached) return cached;
		const answer = await this.call(
			"/v1/smtp/inbound/recipient",
			`Bearer ${secret}`,
			JSON.stringify({ mail_from: mailFrom, recipient }),
		);
		const result = recipientAnswer(answer);
		if (result.kind === "answer") this.recipientCache.set(id, result, this.options.recipientCacheMs ?? 0);
		return result;
	}

	/** MX mode after DATA: the raw message as the body, the envelope in headers. */
	inbound(secret: string, submission: Submission): Promise<WorkerAnswer> {
		return this.call("/v1/smtp/inbound", `Bearer ${secret}`, submission.raw, {
			contentType: "message/rfc822",
			headers: {
				"x-envelope-from": submission.mailFrom,
				"x-envelope-to": submission.rcptTo.join(","),
				...this.clientHeaders(submission.clientIp, false),
			},
		});
	}

	private async call(
		path: string,
		authorization: string,
		body: string | Buffer,
		extra: { headers?: Record<string, string>; contentType?: string } = {},
	): Promise<WorkerAnswer> {
		const started = performance.now();
		let response: Response;
		try {
			response = await fetch(new URL(path, this.options.baseUrl), {
				method: "POST",
				headers: { authorization, "content-type": extra.contentType ?? "application/json", ...extra.headers },
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

/** The Worker's recipient answer, checked: anything else is a failure the caller answers with 451. */
function recipientAnswer(answer: WorkerAnswer): RecipientAnswer {
	if (answer.kind !== "ok" || answer.status !== 200) return { kind: "failed", answer };
	const b = answer.body;
	if (b.accept === true) return { kind: "answer", accept: true };
	if (b.accept !== false) return { kind: "failed", answer: { kind: "unreachable", reason: "bad_response" } };
	// A refusal is 5xx unless the Worker asks for a temporary one (4xx); the enhanced code's class matches.
	const code = typeof b.code === "number" && Number.isInteger(b.code) && b.code >= 400 && b.code <= 599 ? b.code : 550;
	const cls = String(code)[0];
	const enhanced =
		typeof b.enhanced === "string" && new RegExp(`^${cls}\\.\\d{1,3}\\.\\d{1,3}$`).test(b.enhanced)
			? b.enhanced
			: `${cls}.1.1`;
	// One reply line: no controls (a CR or LF would end it), at most a short sentence.
	const text =
		typeof b.message === "string"
			? [...b.message]
					.map((ch) => (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f ? " " : ch))
					.join("")
					.replace(/ +/g, " ")
					.trim()
					.slice(0, 300)
			: "";
	const message = text || "Recipient not accepted here";
	return { kind: "answer", accept: false, code, enhanced, message };
}
