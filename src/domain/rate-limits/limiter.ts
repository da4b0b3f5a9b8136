// What the WorkspaceLimiter object does per call, given its storage and D1: keep the workspace's
// configuration fresh, then let the engine count. The Durable Object class only forwards to this.
import { readLimiterConfig } from "../../db/repositories/rate-limits";
import { errorSummary } from "../../lib/log";
import { LimiterEngine } from "./engine";
import {
	type AdmitRequest,
	type AdmitResult,
	GLOBAL_LIMITER_ID,
	type LimiterConfig,
	type LimitUsage,
	type Release,
	type ReserveItem,
	type ReserveOptions,
	type ReserveResult,
	type WorkspaceLimiterApi,
} from "./model";
import { readPlatformLimiterConfig } from "./platform";

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
		/** The global instance, for the hard global limits a request asks this object to check too. */
		private readonly global: (() => Pick<WorkspaceLimiterApi, "admit">) | null = null,
	) {
		this.engine = new LimiterEngine(sql);
	}

	async configure(_workspaceId: string, config: LimiterConfig): Promise<void> {
		this.engine.setConfig(config, this.clock());
	}

	async reserve(workspaceId: string, items: ReserveItem[], options: ReserveOptions = {}): Promise<ReserveResult> {
		const config = await this.current(workspaceId);
		for (const r of options.giveBack ?? []) this.engine.release(r);
		return this.engine.reserve(config, items, this.clock(), options);
	}

	async release(_workspaceId: string, release: Release): Promise<void> {
		this.engine.release(release);
	}

	async admit(workspaceId: string, request: AdmitRequest): Promise<AdmitResult> {
		const config = await this.current(workspaceId);
		const local = this.engine.admit(config, request, this.clock());
		if (!request.global || !this.global || local.refused || workspaceId === GLOBAL_LIMITER_ID) return local;
		// The sends this workspace admits are checked against the platform's hard limits as well (the
		// counting happened above, so this await splits nothing). Fails open, as the HTTP path does.
		const open = local.sends.flatMap((r, i) => (r === null ? [i] : []));
		if (open.length === 0) return local;
		let remote: AdmitResult;
		try {
			remote = await this.global().admit(GLOBAL_LIMITER_ID, {
				keyId: request.keyId,
				request: false,
				sends: open.map((i) => ({ sender: "", n: request.sends[i]?.n ?? 1 })),
			});
		} catch (error) {
			console.error("workspace limiter: global limiter unreachable, admitting", {
				workspaceId,
				error: errorSummary(error),
			});
			return local;
		}
		const sends = [...local.sends];
		open.forEach((i, j) => {
			sends[i] = remote.sends[j] ?? null;
		});
		const states = [local.state, remote.state].filter((s) => s !== null);
		const state = states.reduce<AdmitResult["state"]>(
			(m, s) => (m === null || s.remaining < m.remaining ? s : m),
			null,
		);
		return { refused: null, sends, state };
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
			const fresh =
				workspaceId === GLOBAL_LIMITER_ID
					? await readPlatformLimiterConfig(this.db)
					: await readLimiterConfig(this.db, workspaceId);
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
