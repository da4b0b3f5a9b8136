// What the WorkspaceLimiter object does per call, given its storage and D1: keep the workspace's
// configuration fresh, then let the engine count. The Durable Object class only forwards to this.
import { readLimiterConfig } from "../../db/repositories/rate-limits";
import { errorSummary } from "../../lib/log";
import { LimiterEngine } from "./engine";
import type {
	AdmitRequest,
	AdmitResult,
	LimiterConfig,
	LimitUsage,
	Release,
	ReserveItem,
	ReserveOptions,
	ReserveResult,
	WorkspaceLimiterApi,
} from "./model";

/**
 * The object re-reads its configuration from D1 this long after it last had it. A change through the
 * API is pushed at once (configure); this bounds how long a push that failed can leave it stale.
 */
export const CONFIG_REFRESH_MS = 60_000;

export class WorkspaceLimits implements WorkspaceLimiterApi {
	private readonly engine: LimiterEngine;

	constructor(
		sql: SqlStorage,
		private readonly db: D1Database,
		private readonly clock: () => number = Date.now,
	) {
		this.engine = new LimiterEngine(sql);
	}

	async configure(_workspaceId: string, config: LimiterConfig): Promise<void> {
		this.engine.setConfig(config, this.clock());
	}

	async reserve(workspaceId: string, items: ReserveItem[], options: ReserveOptions = {}): Promise<ReserveResult> {
		const config = await this.current(workspaceId);
		return this.engine.reserve(config, items, this.clock(), options);
	}

	async release(_workspaceId: string, release: Release): Promise<void> {
		this.engine.release(release);
	}

	async admit(workspaceId: string, request: AdmitRequest): Promise<AdmitResult> {
		const config = await this.current(workspaceId);
		return this.engine.admit(config, request, this.clock());
	}

	async usage(workspaceId: string): Promise<LimitUsage[]> {
		const config = await this.current(workspaceId);
		return this.engine.usage(config, this.clock());
	}

	/**
	 * The configuration to count with. The D1 read happens before any counting, so the counting itself
	 * still runs without an await; a stale copy is used when D1 cannot be read.
	 */
	private async current(workspaceId: string): Promise<LimiterConfig> {
		const stored = this.engine.config();
		if (stored && this.clock() - stored.loadedAt < CONFIG_REFRESH_MS) return stored.config;
		try {
			const fresh = await readLimiterConfig(this.db, workspaceId);
			// A push that arrived while D1 was read is newer than what was read.
			const again = this.engine.config();
			if (again && stored && again.loadedAt > stored.loadedAt) return again.config;
			this.engine.setConfig(fresh, this.clock());
			return fresh;
		} catch (error) {
			if (stored) {
				console.warn("workspace limiter: config refresh failed, using the last copy", {
					workspaceId,
					error: errorSummary(error),
				});
				return stored.config;
			}
			throw error;
		}
	}
}
