// Request limits and the X-RateLimit-* headers (docs/rate-limits.md), on every response of every
// authenticated route, compat surfaces included (middleware/compat.ts). Every authenticated route gets
// a LimitGate; a route that sends calls it itself after validation (so the one limiter call also
// checks hard send limits), any other route has it called here before its handler. The headers and
// Retry-After are written on the way out, whatever the handler answered.
import { createMiddleware } from "hono/factory";
import { LimitGate, retryAfterSeconds } from "../../domain/rate-limits/gate";
import type { AppEnv } from "../context";

export function rateLimit(sends: boolean) {
	return createMiddleware<AppEnv>(async (c, next) => {
		const p = c.var.principal;
		const gate = new LimitGate(c.env.WORKSPACE_LIMITER, {
			workspaceId: p.workspaceId,
			keyId: p.keyId,
			limitFlags: p.limitFlags,
		});
		c.set("limitGate", gate);
		try {
			if (!sends && gate.needed(false)) {
				const checked = await gate.check([]);
				if (!checked.ok) throw checked.error;
			}
			await next();
		} finally {
			for (const [name, value] of Object.entries(rateLimitHeaders(gate))) c.header(name, value);
			// A refusal here throws before any response exists (reading c.res would create one and drop
			// headers set later); a route's refusal is already the response.
			if (gate.retryAt !== null && (gate.refused !== null || (c.finalized && c.res.status === 429))) {
				c.header("Retry-After", String(retryAfterSeconds(gate.retryAt)));
			}
		}
	});
}

/**
 * The X-RateLimit-* headers of every authenticated response (docs/rate-limits.md "Headers"): the
 * most constraining limit the request's one call evaluated, exactly; with no call, nothing could
 * refuse the request, and the headers say `unlimited` rather than make up a count.
 * X-RateLimit-Scope says which: `api_key`, `send`, `none`, or `unavailable` (the call failed).
 */
export function rateLimitHeaders(gate: LimitGate, now = Date.now()): Record<string, string> {
	const nowSeconds = String(Math.ceil(now / 1000));
	if (gate.state) {
		return {
			"X-RateLimit-Limit": String(gate.state.limit),
			"X-RateLimit-Remaining": String(gate.state.remaining),
			"X-RateLimit-Reset": String(Math.ceil(gate.state.resetAt / 1000)),
			"X-RateLimit-Scope": gate.evaluated(),
		};
	}
	const word = gate.unavailable ? "unknown" : "unlimited";
	return {
		"X-RateLimit-Limit": word,
		"X-RateLimit-Remaining": word,
		"X-RateLimit-Reset": nowSeconds,
		"X-RateLimit-Scope": gate.unavailable ? "unavailable" : "none",
	};
}
