// Gateway health checks from the cron with a fake driver: due gateways only (interval per gateway,
// disabled ones skipped), N failures in a row before unhealthy, one success back to healthy, a
// bounded number per run oldest first through an index, and the cron that runs them beside the
// recovery sweep without either stopping the other.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createDb } from "../../src/db/client";
import { dueForHealthCheck } from "../../src/db/repositories/gateways";
import { runHealthChecks } from "../../src/domain/gateway-health";
import type { Env } from "../../src/env";
import type { Gateway, GatewayCheck } from "../../src/providers/types";
import worker from "../../workers/index";
import { withDriver } from "../helpers/delivery";
import { createWorkspace } from "../helpers/workspace";

const deps = () => ({
	db: env.DB,
	encryptionKey: env.ENCRYPTION_KEY,
	context: { bodies: env.BODIES, fetch, environment: "test" as const },
});
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const MIN = 60_000;

/** A fake driver whose check answers from `answers` in turn (the last one repeats) and counts calls. */
function fakeDriver(answers: (GatewayCheck | "throw")[]) {
	const calls: string[] = [];
	const factory = (spec: { id: string }) => {
		const gateway: Gateway = {
			id: spec.id,
			type: "postmark",
			send: () => Promise.reject(new Error("not for sending")),
			check: async () => {
				const answer = answers[Math.min(calls.length, answers.length - 1)] ?? { ok: true, detail: "ok" };
				calls.push(spec.id);
				if (answer === "throw") throw new Error("socket hang up at https://internal.example/with-secret");
				return answer;
			},
		};
		return gateway;
	};
	return { factory, calls };
}

type HealthRow = { health_status: string; health_failures: number; last_health_check_at: number | null };
const healthOf = (id: string) =>
	env.DB.prepare("SELECT health_status, health_failures, last_health_check_at FROM gateways WHERE id = ?")
		.bind(id)
		.first<HealthRow>();
const setRow = (id: string, sql: string, ...values: unknown[]) =>
	env.DB.prepare(`UPDATE gateways SET ${sql} WHERE id = ?`)
		.bind(...values, id)
		.run();

/** Every other gateway in this file's database counts as just checked, so a run sees only ours. */
const quietOthers = (except: string[], now: number) =>
	env.DB.prepare(`UPDATE gateways SET last_health_check_at = ? WHERE id NOT IN (SELECT value FROM json_each(?))`)
		.bind(now, JSON.stringify(except))
		.run();

afterEach(() => vi.restoreAllMocks());

describe("gateway health checks", () => {
	it("checks a due gateway, then not again until its interval has passed", async () => {
		const ws = await createWorkspace({ gateway: false });
		const driver = fakeDriver([{ ok: true, detail: "ok" }]);
		await withDriver(ws.id, "postmark", driver.factory, async (id) => {
			await quietOthers([id], T0);
			expect(await runHealthChecks(deps(), T0)).toMatchObject({ checked: 1, healthy: 1 });
			expect(await healthOf(id)).toEqual({ health_status: "healthy", health_failures: 0, last_health_check_at: T0 });
			// The default interval is 5 minutes.
			await runHealthChecks(deps(), T0 + 4 * MIN);
			expect(driver.calls).toHaveLength(1);
			await quietOthers([id], T0 + 5 * MIN);
			await runHealthChecks(deps(), T0 + 5 * MIN);
			expect(driver.calls).toHaveLength(2);
			// A gateway's own interval replaces the default.
			await setRow(id, "config = ?", JSON.stringify({ health_check_interval_seconds: 60 }));
			await quietOthers([id], T0 + 6 * MIN);
			await runHealthChecks(deps(), T0 + 6 * MIN);
			expect(driver.calls).toHaveLength(3);
		});
	});

	it("marks a gateway unhealthy only after 3 failed checks in a row, healthy again after one success", async () => {
		const ws = await createWorkspace({ gateway: false });
		const bad = { ok: false, detail: "401 Unauthorized" };
		const driver = fakeDriver([{ ok: true, detail: "ok" }, bad, bad, "throw", { ok: true, detail: "ok" }]);
		await withDriver(ws.id, "postmark", driver.factory, async (id) => {
			const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
			const states: HealthRow[] = [];
			for (let i = 0; i < 5; i++) {
				const now = T0 + i * 10 * MIN;
				await quietOthers([id], now);
				await runHealthChecks(deps(), now);
				const row = await healthOf(id);
				if (row) states.push(row);
			}
			expect(states.map((s) => [s.health_status, s.health_failures])).toEqual([
				["healthy", 0],
				["healthy", 1],
				["healthy", 2],
				// A check that throws is a failed check, not a crashed run.
				["unhealthy", 3],
				["healthy", 0],
			]);
			expect(warn).toHaveBeenCalledWith("gateway marked unhealthy", expect.objectContaining({ gateway_id: id }));
			expect(JSON.stringify(warn.mock.calls)).not.toContain("with-secret");
		});
	});

	it("takes its failure threshold from the gateway's config", async () => {
		const ws = await createWorkspace({ gateway: false });
		const driver = fakeDriver([{ ok: false, detail: "down" }]);
		await withDriver(ws.id, "postmark", driver.factory, async (id) => {
			vi.spyOn(console, "warn").mockImplementation(() => {});
			await setRow(id, "config = ?", JSON.stringify({ health_check_failure_threshold: 1 }));
			await quietOthers([id], T0);
			await runHealthChecks(deps(), T0);
			expect(await healthOf(id)).toMatchObject({ health_status: "unhealthy", health_failures: 1 });
		});
	});

	it("skips disabled gateways", async () => {
		const ws = await createWorkspace({ gateway: false });
		const driver = fakeDriver([{ ok: true, detail: "ok" }]);
		await withDriver(ws.id, "postmark", driver.factory, async (id) => {
			await setRow(id, "enabled = 0");
			await quietOthers([id], T0);
			expect((await runHealthChecks(deps(), T0)).checked).toBe(0);
			await setRow(id, "enabled = 1");
			expect((await runHealthChecks(deps(), T0)).checked).toBe(1);
			expect(driver.calls).toEqual([id]);
		});
	});

	it("fails the check of a gateway whose credentials cannot be opened", async () => {
		const ws = await createWorkspace({ gateway: false });
		const driver = fakeDriver([{ ok: true, detail: "ok" }]);
		await withDriver(ws.id, "postmark", driver.factory, async (id) => {
			vi.spyOn(console, "warn").mockImplementation(() => {});
			await setRow(
				id,
				"credentials_enc = 'not-a-ciphertext', config = ?",
				JSON.stringify({ health_check_failure_threshold: 1 }),
			);
			await quietOthers([id], T0);
			expect(await runHealthChecks(deps(), T0)).toMatchObject({ checked: 1, failed: 1 });
			expect(driver.calls).toHaveLength(0);
			expect((await healthOf(id))?.health_status).toBe("unhealthy");
		});
	});

	it("checks at most `limit` per run, never-checked and oldest first, through the gateways_health_due index", async () => {
		const ws = await createWorkspace({ gateway: false });
		const driver = fakeDriver([{ ok: true, detail: "ok" }]);
		await withDriver(ws.id, "postmark", driver.factory, async (a) => {
			await withDriver(ws.id, "postmark", driver.factory, async (b) => {
				await withDriver(ws.id, "postmark", driver.factory, async (c) => {
					await quietOthers([a, b, c], T0);
					await setRow(a, "last_health_check_at = ?", T0 - 60 * MIN);
					await setRow(b, "last_health_check_at = NULL");
					await setRow(c, "last_health_check_at = ?", T0 - 30 * MIN);
					expect((await runHealthChecks(deps(), T0, 2)).checked).toBe(2);
					expect(driver.calls).toEqual([b, a]);
					await runHealthChecks(deps(), T0, 2);
					expect(driver.calls).toEqual([b, a, c]);
				});
			});
		});
		const query = dueForHealthCheck(createDb(env.DB), T0, 50, 300).toSQL();
		const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query.sql}`)
			.bind(...query.params)
			.all<{ detail: string }>();
		const plan = results.map((r) => r.detail).join(" | ");
		expect(plan).toContain("USING INDEX gateways_health_due");
		expect(plan).not.toContain("TEMP B-TREE");
	});

	it("runs from the cron, and a failed health-check run does not stop the recovery sweep", async () => {
		const ws = await createWorkspace({ gateway: false });
		const driver = fakeDriver([{ ok: true, detail: "ok" }]);
		await withDriver(ws.id, "postmark", driver.factory, async (id) => {
			await setRow(id, "last_health_check_at = NULL");
			const tick = async (testEnv: Env) => {
				const ctx = createExecutionContext();
				await worker.scheduled(
					createScheduledController({ scheduledTime: new Date(), cron: "* * * * *" }),
					testEnv,
					ctx,
				);
				await waitOnExecutionContext(ctx);
			};
			await tick(env);
			expect(driver.calls).toEqual([id]);
			expect((await healthOf(id))?.health_status).toBe("healthy");

			// D1 refuses the health checks' query; the sweep's queries still go through and it still runs.
			await setRow(id, "last_health_check_at = NULL");
			const error = vi.spyOn(console, "error").mockImplementation(() => {});
			let sweepQueries = 0;
			const db = {
				prepare: (sql: string) => {
					if (sql.includes("health_check_interval_seconds")) throw new Error("D1_ERROR: simulated outage");
					sweepQueries++;
					return env.DB.prepare(sql);
				},
				batch: (statements: D1PreparedStatement[]) => env.DB.batch(statements),
			} as unknown as D1Database;
			// The failed task fails the invocation, so it shows in the cron's status, but only after the others ran.
			await expect(tick({ ...env, DB: db })).rejects.toThrow(/simulated outage/);
			expect(error).toHaveBeenCalledWith("cron task failed", expect.objectContaining({ task: "health" }));
			expect(sweepQueries).toBeGreaterThan(0);
			expect(driver.calls).toEqual([id]);
		});
	});
});
