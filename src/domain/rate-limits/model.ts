// Rate limits as a workspace configures them (PUT /v1/rate-limits) and as the WorkspaceLimiter
// evaluates them, plus the RPC contract between the domain and that Durable Object, kept here so
// the domain never imports from workers/.
import { z } from "zod";
import { DAY, HOUR, MINUTE, SECOND } from "../../lib/time";

export const WINDOWS = ["second", "minute", "hour", "day"] as const;
export type Window = (typeof WINDOWS)[number];

/**
 * A window is counted in `buckets` equal slices (docs/rate-limits.md): the more slices, the closer
 * the count follows a true sliding window; every slice is a row, so the count is bounded per key.
 */
export const WINDOW_SPEC: Record<Window, { ms: number; buckets: number }> = {
	second: { ms: SECOND, buckets: 20 },
	minute: { ms: MINUTE, buckets: 60 },
	hour: { ms: HOUR, buckets: 60 },
	day: { ms: DAY, buckets: 96 },
};

export const LIMIT_SCOPES = ["workspace", "sender", "api_key"] as const;
export type LimitScope = (typeof LIMIT_SCOPES)[number];

export const MAX_LIMITS = 100;

export const limitSchema = z
	.strictObject({
		scope: z.enum(LIMIT_SCOPES),
		/** sender: one From address (or X-User-ID) the limit overrides the default for; api_key: one key id. */
		key: z.string().min(1).max(320).optional(),
		window: z.enum(WINDOWS),
		limit: z.number().int().min(0).max(1_000_000_000),
		/** soft defers a message until the window allows it, hard refuses it. Request limits are always hard. */
		kind: z.enum(["soft", "hard"]).optional(),
	})
	.superRefine((l, ctx) => {
		if (l.scope === "workspace" && l.key !== undefined) {
			ctx.addIssue({ code: "custom", path: ["key"], message: "a workspace limit takes no key" });
		}
		if (l.scope === "workspace" && (l.window === "second" || l.window === "minute")) {
			ctx.addIssue({ code: "custom", path: ["window"], message: "workspace limits are per hour or per day" });
		}
		if (l.scope === "sender" && (l.window === "second" || l.window === "minute")) {
			ctx.addIssue({ code: "custom", path: ["window"], message: "sender limits are per hour or per day" });
		}
		if (l.scope === "api_key" && l.kind === "soft") {
			ctx.addIssue({ code: "custom", path: ["kind"], message: "a request limit cannot be soft: it answers 429" });
		}
	});

export type LimitInput = z.infer<typeof limitSchema>;

/** A platform-wide limit (PUT /v1/platform/rate-limits): every workspace's mail counts against it. */
export const platformLimitSchema = z
	.strictObject({
		scope: z.literal("global").optional(),
		window: z.enum(WINDOWS),
		limit: z.number().int().min(0).max(1_000_000_000),
		kind: z.enum(["soft", "hard"]).optional(),
	})
	.superRefine((l, ctx) => {
		if (l.window === "second") {
			ctx.addIssue({ code: "custom", path: ["window"], message: "global limits are per minute, hour or day" });
		}
	});

export type PlatformLimitInput = z.infer<typeof platformLimitSchema>;

/** A limit as stored and evaluated: `key` null is the default for every sender / every key. */
export type LimitDef = {
	/** `global` only in the platform's own limiter instance (GLOBAL_LIMITER_ID). */
	scope: LimitScope | "global";
	key: string | null;
	window: Window;
	limit: number;
	kind: "soft" | "hard";
};

export function toLimitDef(input: LimitInput): LimitDef & { scope: LimitScope } {
	const senderKey = input.scope === "sender" && input.key !== undefined ? input.key.toLowerCase() : input.key;
	return {
		scope: input.scope,
		key: senderKey ?? null,
		window: input.window,
		limit: input.limit,
		kind: input.scope === "api_key" ? "hard" : (input.kind ?? "soft"),
	};
}

/** A named queue as the limiter needs it: its priority and its own per-minute rate. */
export type QueueLimit = { id: string; priority: number; ratePerMinute: number | null };

export type LimiterConfig = { limits: LimitDef[]; queues: QueueLimit[] };

/**
 * One message of a consumer batch asking for a send slot. `priority` (1–10), when given, is used
 * instead of the limiter's own queue table: the global instance knows no workspace's queues.
 */
export type ReserveItem = { id: string; sender: string; queueId: string | null; priority?: number };

/**
 * Limits a reserve call adds for this batch only (issue 11): `throttlePerMinute` is the reputation
 * throttle of a throttled workspace, a soft per-minute limit on all its messages (docs/reputation.md).
 */
export type ReserveOptions = { throttlePerMinute?: number | null | undefined; giveBack?: Release[] | undefined };

export type Decision =
	| { kind: "go" }
	| { kind: "defer"; until: number; reason: string }
	| { kind: "reject"; reason: string };

export type ReserveResult = {
	/** The limiter's clock when it counted; release() needs it to find the slices it wrote. */
	at: number;
	decisions: Record<string, Decision>;
	/** Per granted message, the counter keys it took one unit from. */
	taken: Record<string, string[]>;
};

export type Release = { at: number; keys: Record<string, number> };

/** What one HTTP request asks of the limiter, in its single call. */
export type AdmitRequest = {
	keyId: string;
	/** Count this request against the key's request limits. */
	request: boolean;
	/** Check (without counting) hard send limits for these messages, in order. */
	sends: { sender: string; n: number }[];
	/**
	 * Also check the platform's hard limits: the workspace's object asks the global one itself, so
	 * the request still makes one call.
	 */
	global?: boolean;
};

export type RateState = { limit: number; remaining: number; resetAt: number };

export type AdmitResult = {
	/** null: the request is within its limits. */
	refused: { reason: string; retryAt: number } | null;
	/** Per entry of `sends`: null when within the hard limits, else the limit that refuses it. */
	sends: ({ reason: string; retryAt: number } | null)[];
	/** The most constraining limit this call evaluated, for the X-RateLimit-* headers. */
	state: RateState | null;
};

export type LimitUsage = LimitDef & { used: number; remaining: number; resetAt: number };

/** The WorkspaceLimiter's RPC surface, as the domain calls it. Every method carries the workspace id. */
export interface WorkspaceLimiterApi {
	configure(workspaceId: string, config: LimiterConfig): Promise<void>;
	/**
	 * `options.throttlePerMinute`: a reputation throttle counted as one more soft per-minute limit;
	 * `options.giveBack`: units returned with this call instead of a release call of their own (the global instance's).
	 */
	reserve(workspaceId: string, items: ReserveItem[], options?: ReserveOptions): Promise<ReserveResult>;
	release(workspaceId: string, release: Release): Promise<void>;
	admit(workspaceId: string, request: AdmitRequest): Promise<AdmitResult>;
	usage(workspaceId: string): Promise<LimitUsage[]>;
}

export function limiterName(workspaceId: string): string {
	return workspaceId === GLOBAL_LIMITER_ID ? GLOBAL_LIMITER_ID : `ws:${workspaceId}`;
}

/**
 * The platform's own limiter instance (a WorkspaceLimiter named `global`, never `ws:…`): it counts
 * every workspace's mail against the global limits, and is called only when some are configured.
 */
export const GLOBAL_LIMITER_ID = "global";

/** How a limit is named in reasons and errors: `sender vip@x.test day hard limit 100`. */
export function describeLimit(l: LimitDef): string {
	const who = l.scope === "api_key" ? "API key" : l.scope;
	return `${who}${l.key ? ` ${l.key}` : ""} ${l.window} ${l.kind} limit ${l.limit}`;
}

/** The sender a limit counts: the `X-User-ID` header when the message has one, else the From address. */
export function senderKey(fromEmail: string, headers: Record<string, string>): string {
	for (const [name, value] of Object.entries(headers)) {
		if (name.toLowerCase() === "x-user-id" && value.trim() !== "") return value.trim().toLowerCase();
	}
	return fromEmail.toLowerCase();
}
