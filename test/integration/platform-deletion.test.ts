// Deleting a workspace: suspended at once, purged by the cron after the grace in bounded rounds with
// its progress on the workspace, and then nothing of it is left in any table or in R2, while another
// workspace with the same kinds of rows keeps every one of them.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PLATFORM_TABLES, PURGE_TABLES } from "../../src/db/repositories/purge";
import {
	PURGE_BATCH_ROWS,
	PURGE_GRACE_MS,
	PURGE_ROUNDS_PER_RUN,
	purgeDeletedWorkspaces,
} from "../../src/domain/platform/purge";
import worker from "../../workers/index";
import { createViaPlatform, type PlatformWorkspace, platform, platformEnv } from "../helpers/platform";
import { json, RecordingQueue, request, runQueue, sampleEmail, testEnv } from "../helpers/worker";

const SYSTEM_TABLES = new Set(["d1_migrations", "sqlite_sequence", "_cf_KV", "_cf_METADATA"]);
const deps = { db: env.DB, bodies: env.BODIES };

async function tables(): Promise<{ name: string; columns: string[] }[]> {
	const { results } = await env.DB.prepare(
		"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
	).all<{ name: string }>();
	const out: { name: string; columns: string[] }[] = [];
	for (const { name } of results) {
		if (SYSTEM_TABLES.has(name) || PLATFORM_TABLES.has(name)) continue;
		const cols = await env.DB.prepare(`SELECT name FROM pragma_table_info('${name}')`).all<{ name: string }>();
		out.push({ name, columns: cols.results.map((c) => c.name) });
	}
	return out;
}

const messageIds = new Map<string, string[]>();

/**
 * Rows of the workspace in every table of the database; message_recipients by the ids its messages
 * had when first looked at, so recipients left behind by their deleted messages would be counted.
 */
async function footprint(workspaceId: string): Promise<Record<string, number>> {
	if (!messageIds.has(workspaceId)) {
		const { results } = await env.DB.prepare("SELECT id FROM messages WHERE workspace_id = ?")
			.bind(workspaceId)
			.all<{ id: string }>();
		messageIds.set(
			workspaceId,
			results.map((r) => r.id),
		);
	}
	const ids = JSON.stringify(messageIds.get(workspaceId) ?? []);
	const counts: Record<string, number> = {};
	for (const t of await tables()) {
		if (PLATFORM_TABLES.has(t.name)) continue;
		let sql: string;
		if (t.name === "workspaces") sql = "SELECT COUNT(*) AS n FROM workspaces WHERE id = ?1";
		else if (t.columns.includes("workspace_id")) sql = `SELECT COUNT(*) AS n FROM ${t.name} WHERE workspace_id = ?1`;
		else if (t.name === "message_recipients")
			sql = "SELECT COUNT(*) AS n FROM message_recipients WHERE message_id IN (SELECT value FROM json_each(?2))";
		else throw new Error(`table ${t.name} has no workspace_id: say here how its rows belong to a workspace`);
		const bound = sql.includes("?2") ? [workspaceId, ids] : [workspaceId];
		counts[t.name] =
			(
				await env.DB.prepare(sql)
					.bind(...bound)
					.first<{ n: number }>()
			)?.n ?? 0;
	}
	return counts;
}

async function objects(workspaceId: string): Promise<string[]> {
	const keys: string[] = [];
	for (const kind of ["content/", "mime/", "inbound/"]) {
		const page = await env.BODIES.list({ prefix: `${kind}${workspaceId}/` });
		keys.push(...page.objects.map((o) => o.key));
	}
	return keys;
}

/** A workspace with rows in every table that holds workspace rows, mail sent through the API, and R2 objects. */
async function populated(events = 0) {
	const created = await createViaPlatform({ sandbox_mode: true });
	const id = created.workspace.id;
	const queue = new RecordingQueue();
	const res = await request("/v1/emails", {
		key: created.api_key.key,
		body: sampleEmail(created.domain),
		env: { SEND_QUEUE: queue },
	});
	expect(res.status).toBe(202);
	await runQueue("mq-send", queue.sent, { SEND_QUEUE: new RecordingQueue() });
	const endpoint = `whe_${id}`;
	await env.DB.batch([
		env.DB.prepare("INSERT INTO users (id, workspace_id, email) VALUES (?, ?, 'u@x.test')").bind(`usr_${id}`, id),
		env.DB.prepare("INSERT INTO gateways (id, workspace_id, name, type) VALUES (?, ?, 'Sandbox', 'sandbox')").bind(
			`gw_${id}`,
			id,
		),
		env.DB.prepare("INSERT INTO queues (id, workspace_id, name) VALUES (?, ?, 'default')").bind(`q_${id}`, id),
		env.DB.prepare(
			"INSERT INTO rate_limits (id, workspace_id, scope, window, \"limit\", kind) VALUES (?, ?, 'workspace', 'day', 10, 'soft')",
		).bind(`rl_${id}`, id),
		env.DB.prepare(
			"INSERT INTO smtp_credentials (id, workspace_id, name, username, password_hash, mode) VALUES (?, ?, 'n', ?, 'h', 'live')",
		).bind(`smtp_${id}`, id, `u_${id}`),
		env.DB.prepare(
			"INSERT INTO routing_rules (id, workspace_id, queue_id, name, match) VALUES (?, ?, ?, 'r', '{}')",
		).bind(`rr_${id}`, id, `q_${id}`),
		env.DB.prepare("INSERT OR IGNORE INTO recipients (id, workspace_id, email) VALUES (?, ?, 'a@x.test')").bind(
			`rcp_${id}`,
			id,
		),
		env.DB.prepare("INSERT INTO reputation_counters (workspace_id, hour, sent) VALUES (?, 1, 1)").bind(id),
		env.DB.prepare(
			"INSERT INTO reputation_states (workspace_id, state, since, updated_at) VALUES (?, 'ok', 1, 1)",
		).bind(id),
		env.DB.prepare(
			"INSERT INTO suppressions (id, workspace_id, email, reason) VALUES (?, ?, 'b@x.test', 'manual')",
		).bind(`sup_${id}`, id),
		env.DB.prepare(
			"INSERT INTO webhook_endpoints (id, workspace_id, url, secret_enc) VALUES (?, ?, 'https://h.test', 'x')",
		).bind(endpoint, id),
		env.DB.prepare(
			"INSERT INTO webhook_deliveries (id, workspace_id, endpoint_id, event_type, payload) VALUES (?, ?, ?, 'sent', '{}')",
		).bind(`whd_${id}`, id, endpoint),
		env.DB.prepare(
			"INSERT INTO provider_webhook_tokens (workspace_id, gateway_id, token, expires_at) VALUES (?, ?, 'tok', ?)",
		).bind(id, `gw_${id}`, Date.now() + 600_000),
		env.DB.prepare("INSERT INTO templates (id, workspace_id, name, subject) VALUES (?, ?, 't', 's')").bind(
			`tpl_${id}`,
			id,
		),
		env.DB.prepare(
			"INSERT INTO scheduled_jobs (id, workspace_id, name, cron, payload) VALUES (?, ?, 'j', '* * * * *', '{}')",
		).bind(`job_${id}`, id),
		env.DB.prepare(
			"INSERT INTO inbound_routes (id, workspace_id, domain, secret_enc) VALUES (?, ?, 'in.test', 'x')",
		).bind(`inr_${id}`, id),
		env.DB.prepare(
			"INSERT INTO inbound_messages (id, workspace_id, kind, mail_from, rcpt_to, raw_key, raw_size, created_at) VALUES (?, ?, 'routed', '', 'a@in.test', ?, 1, 1)",
		).bind(`inb_${id}`, id, `inbound/${id}/reply.eml`),
		env.DB.prepare(
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
			 INSERT INTO events (id, workspace_id, type, data, created_at) SELECT ?1 || ':bulk:' || i, ?1, 'opened', '{}', i FROM n`,
		).bind(id, Math.max(events, 1)),
	]);
	await env.BODIES.put(`content/${id}/big.json`, "{}");
	await env.BODIES.put(`inbound/${id}/reply.eml`, "Subject: hi\r\n\r\nhi");
	return created;
}

describe("deleting a workspace", () => {
	it("suspends it at once and shows the pending purge; a repeated DELETE keeps the first request", async () => {
		const { workspace, api_key, domain } = await populated();
		const res = await platform(`/v1/platform/workspaces/${workspace.slug}`, { method: "DELETE" });
		expect(res.status).toBe(202);
		const marked = await json<PlatformWorkspace>(res);
		expect(marked).toMatchObject({ status: "deleting", deletion: { rows_deleted: 0, objects_deleted: 0, runs: 0 } });
		const requested = Date.parse(marked.deletion?.requested_at ?? "");
		expect(Date.parse(marked.deletion?.purge_starts_at ?? "")).toBe(requested + PURGE_GRACE_MS);
		const refused = await request("/v1/emails", { key: api_key.key, body: sampleEmail(domain) });
		expect(refused.status).toBe(403);

		const again = await json<PlatformWorkspace>(
			await platform(`/v1/platform/workspaces/${workspace.id}`, { method: "DELETE" }),
		);
		expect(again.deletion?.requested_at).toBe(marked.deletion?.requested_at);
		for (const body of [{ suspended: false }, { name: "Back" }]) {
			const resume = await platform(`/v1/platform/workspaces/${workspace.id}`, { method: "PATCH", body });
			expect(resume.status).toBe(409);
		}
		expect((await platform(`/v1/platform/workspaces/${workspace.id}/api-keys`, { method: "POST" })).status).toBe(409);
		// Before the grace has passed, the cron leaves it alone.
		expect(await purgeDeletedWorkspaces(deps, requested + PURGE_GRACE_MS - 1000)).toEqual([]);
		expect((await footprint(workspace.id)).workspaces).toBe(1);
	});

	it("purges in bounded runs with progress on the workspace, leaving nothing in any table or R2, and nothing of another workspace touched", async () => {
		const bulk = PURGE_BATCH_ROWS * PURGE_ROUNDS_PER_RUN + 2000;
		const doomed = await populated(bulk);
		const kept = await populated(10);
		const id = doomed.workspace.id;
		const before = await footprint(id);
		// Every table that holds workspace rows has some of this one's, so "none left" below means something.
		for (const [table, n] of Object.entries(before)) expect(n, table).toBeGreaterThan(0);
		const stored = await objects(id);
		expect(stored).toHaveLength(3);
		expect(stored).toEqual(
			expect.arrayContaining([
				`content/${id}/big.json`,
				`inbound/${id}/reply.eml`,
				expect.stringMatching(`^mime/${id}/`),
			]),
		);
		const keptBefore = await footprint(kept.workspace.id);
		const keptObjects = await objects(kept.workspace.id);

		// Finish the deletions earlier tests of this file left, so this run's budget is this workspace's alone.
		while ((await purgeDeletedWorkspaces(deps, Date.now() + PURGE_GRACE_MS * 2)).length > 0);
		await platform(`/v1/platform/workspaces/${id}`, { method: "DELETE" });
		const after = Date.now() + PURGE_GRACE_MS + 1000;
		// The request itself added its audit row.
		const marked = await footprint(id);
		expect(marked.audit_logs).toBe((before.audit_logs ?? 0) + 1);

		const first = await purgeDeletedWorkspaces(deps, after);
		expect(first).toEqual([expect.objectContaining({ workspaceId: id, finished: false })]);
		expect(first[0]?.rows).toBeLessThanOrEqual(
			PURGE_ROUNDS_PER_RUN * PURGE_BATCH_ROWS * Object.keys(PURGE_TABLES).length,
		);
		const progress = await json<PlatformWorkspace>(await platform(`/v1/platform/workspaces/${id}`));
		expect(progress.status).toBe("deleting");
		expect(progress.deletion).toMatchObject({
			runs: 1,
			rows_deleted: first[0]?.rows,
			objects_deleted: first[0]?.objects,
		});
		expect(progress.deletion?.rows_deleted).toBeGreaterThanOrEqual(PURGE_BATCH_ROWS * PURGE_ROUNDS_PER_RUN);
		expect(progress.deletion?.last_run_at).not.toBeNull();

		const second = await purgeDeletedWorkspaces(deps, after + 60_000);
		expect(second).toEqual([expect.objectContaining({ workspaceId: id, finished: true })]);
		expect((first[0]?.objects ?? 0) + (second[0]?.objects ?? 0)).toBe(3);
		expect((first[0]?.rows ?? 0) + (second[0]?.rows ?? 0)).toBe(
			Object.entries(marked).reduce((sum, [t, n]) => sum + (t === "workspaces" ? 0 : n), 0),
		);
		expect((await platform(`/v1/platform/workspaces/${id}`)).status).toBe(404);
		const left = await footprint(id);
		expect(
			Object.values(left).every((n) => n === 0),
			JSON.stringify(left),
		).toBe(true);
		expect(await objects(id)).toEqual([]);

		expect(await footprint(kept.workspace.id)).toEqual(keptBefore);
		expect(await objects(kept.workspace.id)).toEqual(keptObjects);
		expect((await request("/v1/workspace", { key: kept.api_key.key })).status).toBe(200);
	});

	it("knows how to purge every table of the schema", async () => {
		const purged = new Set(Object.keys(PURGE_TABLES));
		for (const t of await tables()) {
			if (t.name === "workspaces" || PLATFORM_TABLES.has(t.name)) continue;
			expect(purged, `${t.name} is missing from PURGE_TABLES (src/db/repositories/purge.ts)`).toContain(t.name);
		}
	});

	it("runs from the cron entrypoint", async () => {
		const { workspace } = await populated();
		await platform(`/v1/platform/workspaces/${workspace.id}`, { method: "DELETE" });
		await env.DB.prepare("UPDATE workspaces SET deletion_requested_at = ? WHERE id = ?")
			.bind(Date.now() - PURGE_GRACE_MS - 1000, workspace.id)
			.run();
		const ctx = createExecutionContext();
		await worker.scheduled(
			createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }),
			testEnv(platformEnv),
			ctx,
		);
		await waitOnExecutionContext(ctx);
		expect((await footprint(workspace.id)).workspaces).toBe(0);
		expect(await objects(workspace.id)).toEqual([]);
	});
});
