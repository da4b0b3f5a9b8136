// A gateway's breaker settings and own rate limits through /v1/gateways: stored in `config.breaker`
// and the `rate_per_*` columns, shown with defaults filled in, read back by breakerConfigOf, and
// refused with a 422 that names the field.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { findGateway } from "../../src/db/repositories/gateways";
import { breakerConfigOf, healthSettingsOf, routingConfigSchema } from "../../src/domain/routing/breaker-config";
import { DEFAULT_BREAKER } from "../../src/domain/routing/breaker-types";
import { DRIVERS } from "../../src/providers/drivers";
import { buildGateway, RELAY_CONFIG_KEYS } from "../../src/providers/registry";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Gateway = {
	id: string;
	config: Record<string, unknown>;
	breaker: Record<string, number>;
	rate_limits: Record<string, number | null>;
};
type ErrorBody = { error: { code: string; message: string; details?: { path?: string }[] } };

const mailgun = {
	name: "mg",
	type: "mailgun",
	config: { domain: "mg.example.com" },
	credentials: { api_key: "key-0123456789abcdef" },
};

describe("gateway breaker settings and rate limits", () => {
	it("stores them, shows them with defaults, and breakerConfigOf reads them back", async () => {
		const ws = await createWorkspace();
		const res = await request("/v1/gateways", {
			key: ws.key,
			body: {
				...mailgun,
				config: { ...mailgun.config, health_check_interval_seconds: 60 },
				breaker: { failure_threshold: 10, timeout_seconds: 120 },
				rate_limits: { second: 5, day: 50_000 },
			},
		});
		expect(res.status).toBe(201);
		const created = await json<Gateway>(res);
		expect(created.config).toEqual({
			domain: "mg.example.com",
			region: "us",
			health_check_interval_seconds: 60,
			breaker: { failure_threshold: 10, timeout_seconds: 120 },
		});
		expect(created.breaker).toEqual({
			failure_threshold: 10,
			success_threshold: 3,
			timeout_seconds: 120,
			max_requests: 1,
		});
		expect(created.rate_limits).toEqual({ second: 5, minute: null, hour: null, day: 50_000 });

		const row = await findGateway(createDb(env.DB), ws.id, created.id);
		if (!row) throw new Error("gateway row missing");
		expect(row).toMatchObject({ ratePerSecond: 5, ratePerDay: 50_000, ratePerMinute: null });
		expect(breakerConfigOf(row)).toEqual({
			failureThreshold: 10,
			successThreshold: 3,
			openTimeoutMs: 120_000,
			halfOpenMaxRequests: 1,
			rateLimits: { second: 5, day: 50_000 },
		});
		expect(healthSettingsOf(row)).toEqual({ intervalMs: 60_000, failureThreshold: 3 });
		// The consumer's raw rows (snake_case, config as text) read the same.
		const raw = await env.DB.prepare(
			"SELECT config, rate_per_second, rate_per_minute, rate_per_hour, rate_per_day FROM gateways WHERE id = ?",
		)
			.bind(created.id)
			.first<{ config: string; rate_per_second: number | null }>();
		if (!raw) throw new Error("raw row missing");
		expect(breakerConfigOf(raw)).toEqual(breakerConfigOf(row));
	});

	it("defaults everything for a gateway with no settings", async () => {
		expect(breakerConfigOf({ config: "{}" })).toEqual(DEFAULT_BREAKER);
		expect(breakerConfigOf({ config: null, rate_per_minute: 0 })).toEqual(DEFAULT_BREAKER);
		expect(breakerConfigOf({ config: { breaker: { failure_threshold: "many" } } })).toEqual(DEFAULT_BREAKER);
		expect(healthSettingsOf({ config: {} })).toEqual({ intervalMs: 300_000, failureThreshold: 3 });
	});

	it("patches by merging: a null restores a default or removes a limit", async () => {
		const ws = await createWorkspace();
		const created = await json<Gateway>(
			await request("/v1/gateways", {
				key: ws.key,
				body: {
					...mailgun,
					breaker: { failure_threshold: 10, max_requests: 4 },
					rate_limits: { minute: 100, hour: 1_000 },
				},
			}),
		);
		const patched = await request(`/v1/gateways/${created.id}`, {
			key: ws.key,
			method: "PATCH",
			body: { breaker: { failure_threshold: null, success_threshold: 5 }, rate_limits: { minute: null, day: 9_000 } },
		});
		expect(patched.status).toBe(200);
		const body = await json<Gateway>(patched);
		expect(body.breaker).toEqual({ failure_threshold: 5, success_threshold: 5, timeout_seconds: 30, max_requests: 4 });
		expect(body.rate_limits).toEqual({ second: null, minute: null, hour: 1_000, day: 9_000 });
		expect(body.config).toEqual({
			domain: "mg.example.com",
			region: "us",
			breaker: { max_requests: 4, success_threshold: 5 },
		});
		// A patch of the driver config alone keeps the breaker settings.
		const again = await json<Gateway>(
			await request(`/v1/gateways/${created.id}`, { key: ws.key, method: "PATCH", body: { config: { region: "eu" } } }),
		);
		expect(again.breaker.max_requests).toBe(4);
		expect(again.config).toMatchObject({ region: "eu", breaker: { max_requests: 4 } });
	});

	it("names the wrong field in a 422", async () => {
		const ws = await createWorkspace();
		const cases: [Record<string, unknown>, string][] = [
			[{ breaker: { failure_threshold: 0 } }, "breaker.failure_threshold"],
			[{ breaker: { timeout: "30s" } }, "breaker"],
			[{ rate_limits: { minute: -1 } }, "rate_limits.minute"],
			[{ rate_limits: { week: 10 } }, "rate_limits"],
			[{ config: { ...mailgun.config, breaker: { max_requests: 0 } } }, "config.breaker.max_requests"],
			[{ config: { ...mailgun.config, health_check_interval_seconds: 5 } }, "config.health_check_interval_seconds"],
		];
		for (const [extra, field] of cases) {
			const res = await request("/v1/gateways", { key: ws.key, body: { ...mailgun, name: `mg-${field}`, ...extra } });
			expect(res.status, field).toBe(422);
			const body = await json<ErrorBody>(res);
			expect(body.error.code).toBe("validation_error");
			expect(body.error.message, field).toContain(field);
		}
		const created = await json<Gateway>(await request("/v1/gateways", { key: ws.key, body: mailgun }));
		const bad = await request(`/v1/gateways/${created.id}`, {
			key: ws.key,
			method: "PATCH",
			body: { rate_limits: { second: 1.5 } },
		});
		expect(bad.status).toBe(422);
		expect((await json<ErrorBody>(bad)).error.message).toContain("rate_limits.second");
	});

	it("keeps the relay's own config keys from the driver, whose schema would refuse them", () => {
		expect([...RELAY_CONFIG_KEYS].sort()).toEqual(Object.keys(routingConfigSchema.shape).sort());
		const spec = {
			id: "gw_x",
			type: "mailgun" as const,
			config: {
				domain: "d.test",
				breaker: { failure_threshold: 2 },
				health_check_interval_seconds: 60,
				failover_to: ["gw_y"],
			},
			credentials: { api_key: "key-0123456789abcdef" },
		};
		const context = { bodies: env.BODIES, fetch, environment: "test" as const };
		const factory = DRIVERS.mailgun;
		if (!factory) throw new Error("no mailgun driver");
		expect(factory(spec, context)).toHaveProperty("error");
		expect(buildGateway(spec, context)).not.toHaveProperty("error");
	});
});
