// The HTTP path's side of rate limits: at most one WorkspaceLimiter call per request, and none when
// the key has no request limit and the workspace no hard send limit (the principal says which, so
// deciding costs nothing). Send routes make that one call after validation, so it can also check the
// hard send limits of the messages; other routes make it before their handler. Fails open: a limiter
// that cannot be reached must not take the API down, and the consumer still enforces every limit.
import type { Env } from "../../env";
import { ApiError, err, ok, type Result } from "../../errors";
import { getStub } from "../../lib/durable-objects";
import { errorSummary } from "../../lib/log";
import { count } from "../../lib/metrics";
import { type AdmitResult, limiterName, type RateState } from "./model";

export type GateSubject = {
	workspaceId: string;
	keyId: string;
	limitFlags: { requestLimit: boolean; hardSend: boolean; globalHard?: boolean };
};

export type Refusal = { reason: string; retryAt: number };

export class LimitGate {
	/** What the call answered: the headers' numbers, and the request's own refusal. */
	state: RateState | null = null;
	refused: Refusal | null = null;
	/** The soonest time a refused send could go, for Retry-After. */
	retryAt: number | null = null;
	/** The one call was made and failed (the request was admitted: fail open). */
	unavailable = false;
	private called = false;

	constructor(
		private readonly limiter: Env["WORKSPACE_LIMITER"],
		private readonly subject: GateSubject,
	) {}

	/** What the call's state describes: the key's request limit, or (without one) the hard send limits. */
	evaluated(): "api_key" | "send" {
		return this.subject.limitFlags.requestLimit ? "api_key" : "send";
	}

	/** Whether a request of this kind needs the limiter at all. */
	needed(sends: boolean): boolean {
		const f = this.subject.limitFlags;
		return f.requestLimit || (sends && f.hardSend);
	}

	/**
	 * The request's one call: a 429 error when the request itself is over its key's limit; otherwise,
	 * per send, null or the hard limit that refuses it.
	 */
	async check(sends: readonly { sender: string; n: number }[]): Promise<Result<(Refusal | null)[], ApiError>> {
		const none = ok(sends.map(() => null));
		if (this.called) throw new Error("LimitGate.check called twice for one request");
		this.called = true;
		const f = this.subject.limitFlags;
		const wanted = f.hardSend ? [...sends] : [];
		if (!f.requestLimit && wanted.length === 0) return none;
		let result: AdmitResult;
		try {
			count("limiter_calls_total");
			result = await getStub(this.limiter, limiterName(this.subject.workspaceId)).admit(this.subject.workspaceId, {
				keyId: this.subject.keyId,
				request: f.requestLimit,
				sends: wanted,
				...(f.globalHard && wanted.length > 0 ? { global: true } : {}),
			});
		} catch (error) {
			this.unavailable = true;
			console.error("rate limiter unreachable, admitting", {
				workspaceId: this.subject.workspaceId,
				error: errorSummary(error),
			});
			return none;
		}
		this.state = result.state;
		this.refused = result.refused;
		if (result.refused) {
			this.retryAt = result.refused.retryAt;
			return err(rateLimited(result.refused));
		}
		for (const r of result.sends)
			if (r && (this.retryAt === null || r.retryAt < this.retryAt)) this.retryAt = r.retryAt;
		return wanted.length === 0 ? none : ok(result.sends);
	}
}

export function rateLimited(refusal: Refusal, what = "This request"): ApiError {
	const seconds = retryAfterSeconds(refusal.retryAt);
	return new ApiError("rate_limited", `${what} is over a rate limit (${refusal.reason}); retry in ${seconds} s.`);
}

export function retryAfterSeconds(at: number, now = Date.now()): number {
	return Math.max(1, Math.ceil((at - now) / 1000));
}
