// WorkspaceLimiter (`ws:<workspaceId>`): every rate-limit counter of one workspace, in the object's
// SQLite storage so a restart never resets a quota. The logic is src/domain/rate-limits; this class
// only binds it to the object's storage and D1 (docs/rate-limits.md).
import { DurableObject } from "cloudflare:workers";
import { WorkspaceLimits } from "../../src/domain/rate-limits/limiter";
import {
	type AdmitRequest,
	type AdmitResult,
	GLOBAL_LIMITER_ID,
	type LimiterConfig,
	type LimitUsage,
	limiterName,
	type Release,
	type ReserveItem,
	type ReserveOptions,
	type ReserveResult,
	type WorkspaceLimiterApi,
} from "../../src/domain/rate-limits/model";
import type { Env } from "../../src/env";
import { getStub } from "../../src/lib/durable-objects";

export class WorkspaceLimiter extends DurableObject<Env> implements WorkspaceLimiterApi {
	private readonly limits: WorkspaceLimits;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		// The global instance is a WorkspaceLimiter too, named GLOBAL_LIMITER_ID (docs/rate-limits.md).
		this.limits = new WorkspaceLimits(ctx.storage.sql, env.DB, Date.now, () =>
			getStub(env.WORKSPACE_LIMITER, limiterName(GLOBAL_LIMITER_ID)),
		);
	}

	configure(workspaceId: string, config: LimiterConfig): Promise<void> {
		return this.limits.configure(workspaceId, config);
	}

	reserve(workspaceId: string, items: ReserveItem[], options?: ReserveOptions): Promise<ReserveResult> {
		return this.limits.reserve(workspaceId, items, options);
	}

	release(workspaceId: string, release: Release): Promise<void> {
		return this.limits.release(workspaceId, release);
	}

	admit(workspaceId: string, request: AdmitRequest): Promise<AdmitResult> {
		return this.limits.admit(workspaceId, request);
	}

	usage(workspaceId: string): Promise<LimitUsage[]> {
		return this.limits.usage(workspaceId);
	}
}
