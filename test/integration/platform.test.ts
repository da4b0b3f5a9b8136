// The surface around the API: OpenAPI document, docs page, health, metrics, and the non-HTTP
// entrypoints (events queue, email, cron).
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import worker from "../../workers/index";
import { queueKind } from "../../workers/queue";
import { json, request, runQueue } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type OpenApi = {
	openapi: string;
	paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
	components: Record<string, Record<string, unknown>>;
};

describe("OpenAPI", () => {
	it("serves an OpenAPI 3.1 document describing every route the app serves", async () => {
		const res = await request("/openapi.json");
		expect(res.status).toBe(200);
		const doc = await json<OpenApi>(res);
		expect(doc.openapi).toBe("3.1.0");
		expect(doc.components.securitySchemes).toHaveProperty("bearerAuth");
		const documented = new Set(
			Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)),
		);
		const served = app.routes
			.filter((r) => r.method !== "ALL" && !["/openapi.json", "/docs"].includes(r.path))
			.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
		for (const route of served) expect(documented, route).toContain(route);
		for (const ops of Object.values(doc.paths)) {
			for (const op of Object.values(ops)) expect(Object.keys(op.responses).length).toBeGreaterThan(0);
		}
	});

	it("renders the docs page from the document", async () => {
		const res = await request("/docs");
		expect(res.status).toBe(200);
		expect(await res.text()).toContain("/openapi.json");
	});
});

describe("health and metrics", () => {
	it("answers liveness and readiness", async () => {
		expect(await json(await request("/healthz"))).toEqual({ status: "ok" });
		expect(await json(await request("/readyz"))).toEqual({ status: "ok", checks: { d1: "ok" } });
	});

	it("reports readiness 503 with the envelope when D1 fails", async () => {
		const broken = { prepare: () => ({ first: () => Promise.reject(new Error("D1 down")) }) } as unknown as D1Database;
		const res = await request("/readyz", { env: { DB: broken } });
		expect(res.status).toBe(503);
		expect((await json<{ error: { code: string } }>(res)).error.code).toBe("service_unavailable");
	});

	it("exposes operation counters in Prometheus text to admin keys", async () => {
		const ws = await createWorkspace();
		const res = await request("/metrics", { key: ws.key });
		expect(res.status).toBe(200);
		expect(await res.text()).toMatch(/^mq_emails_accepted_total \d+$/m);
	});
});

describe("other entrypoints", () => {
	it("routes queue names of every environment to their consumer", () => {
		expect(queueKind("mq-send")).toBe("send");
		expect(queueKind("mq-send-dlq-production")).toBe("send-dlq");
		expect(queueKind("mq-events-staging")).toBe("events");
		expect(queueKind("something-else")).toBeNull();
	});

	it("writes events from the events queue in one batch, replays harmlessly, and retries malformed ones", async () => {
		const ws = await createWorkspace();
		const event = (id: string) => ({
			v: 1,
			id,
			workspaceId: ws.id,
			messageId: null,
			recipient: "a@x.test",
			type: "opened",
			data: { ua: "test" },
			createdAt: Date.now(),
		});
		const bodies = [event(`${ws.id}:e1`), event(`${ws.id}:e2`), { v: 1, broken: true }];
		const first = await runQueue("mq-events", bodies);
		expect(first.explicitAcks).toEqual(first.ids.slice(0, 2));
		expect(first.retryMessages.map((m) => m.msgId)).toEqual([first.ids[2]]);
		await runQueue("mq-events", bodies.slice(0, 2));
		const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM events WHERE workspace_id = ?")
			.bind(ws.id)
			.first<{ n: number }>();
		expect(n?.n).toBe(2);
	});

	it("refuses inbound mail for an address no route or bounce domain takes, with an SMTP reason", async () => {
		let rejected = "";
		const raw = new TextEncoder().encode("From: someone@x.test\r\nTo: relay@example.test\r\nSubject: s\r\n\r\nHi\r\n");
		const message = {
			from: "someone@x.test",
			to: "relay@example.test",
			raw: new Response(raw).body,
			rawSize: raw.byteLength,
			setReject: (reason: string) => {
				rejected = reason;
			},
		} as unknown as ForwardableEmailMessage;
		await worker.email(message, env, createExecutionContext());
		expect(rejected).toBe("550 5.1.1 No such recipient here");
	});

	it("runs the cron tick against D1", async () => {
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
		await waitOnExecutionContext(ctx);
	});

	it("acks webhook-queue events of workspaces without endpoints and keeps the rest, and malformed ones, for the DLQ", async () => {
		const quiet = await createWorkspace();
		const subscribed = await createWorkspace();
		await env.DB.prepare(
			"INSERT INTO webhook_endpoints (id, workspace_id, url, secret_enc) VALUES ('whe_1', ?, 'https://hooks.example.test', 'x')",
		)
			.bind(subscribed.id)
			.run();
		const event = (workspaceId: string) => ({
			v: 1,
			id: `evt_${workspaceId}`,
			workspaceId,
			messageId: null,
			recipient: null,
			type: "sent",
			data: {},
			createdAt: Date.now(),
		});
		const result = await runQueue("mq-webhooks", [event(quiet.id), event(subscribed.id), { anything: 1 }]);
		expect(result.explicitAcks).toEqual([result.ids[0]]);
		expect(result.retryMessages.map((m) => m.msgId)).toEqual([result.ids[1], result.ids[2]]);
	});
});
