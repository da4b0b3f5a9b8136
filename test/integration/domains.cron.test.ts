// The cron's re-checks through the scheduled entrypoint, with fake time: the pending backoff, the
// 72 h limit, the daily re-verification, a verified domain whose TXT is missing for 72 h (failed,
// event, mail refused with the reason), and one failed lookup that changes nothing.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DOMAIN_CHECKS_PER_RUN } from "../../src/domain/domain-checks/verify";
import { HOUR, MINUTE } from "../../src/lib/time";
import worker from "../../workers/index";
import { type Domain, dohEnv, publishTxt, queriesFor, removeDns, servfail, uniqueDomain } from "../helpers/doh";
import { json, RecordingQueue, request, sampleEmail, testEnv } from "../helpers/worker";
import { createWorkspace, type TestWorkspace } from "../helpers/workspace";

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);

async function cronAt(at: number): Promise<void> {
	vi.setSystemTime(at);
	const ctx = createExecutionContext();
	await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: at }), testEnv(dohEnv()), ctx);
	await waitOnExecutionContext(ctx);
}

type Row = {
	status: string;
	next_check_at: number | null;
	failed_checks: number;
	missing_since: number | null;
	failure_reason: string | null;
};
const row = (id: string) =>
	env.DB.prepare("SELECT status, next_check_at, failed_checks, missing_since, failure_reason FROM domains WHERE id = ?")
		.bind(id)
		.first<Row>();

async function addDomain(ws: TestWorkspace) {
	const name = uniqueDomain();
	const domain = await json<Domain>(await request("/v1/domains", { key: ws.key, body: { name } }));
	return { name, id: domain.id, token: domain.records[0]?.value ?? "" };
}

const send = (ws: TestWorkspace, domain: string) =>
	request("/v1/emails", { key: ws.key, body: sampleEmail(domain), env: { SEND_QUEUE: new RecordingQueue() } });

beforeEach(async () => {
	vi.useFakeTimers({ toFake: ["Date"] });
	vi.setSystemTime(T0);
	// Each test counts on its own domains being the due ones.
	await env.DB.prepare("UPDATE domains SET next_check_at = NULL").run();
});
afterEach(() => {
	vi.useRealTimers();
});

describe("domain re-checks by the cron", () => {
	it("checks a pending domain every minute for 10 minutes, then every 10 minutes, and verifies it when the TXT appears", async () => {
		const ws = await createWorkspace();
		const d = await addDomain(ws);
		expect((await row(d.id))?.next_check_at).toBe(T0 + MINUTE);
		const lookups = () => queriesFor(`_mailqueue.${d.name}`);

		await cronAt(T0 + 30_000); // not due yet
		expect(await lookups()).toBe(0);
		await cronAt(T0 + MINUTE);
		expect(await lookups()).toBe(1);
		expect(await row(d.id)).toMatchObject({ status: "pending", next_check_at: T0 + 2 * MINUTE, failed_checks: 1 });

		await cronAt(T0 + 10 * MINUTE);
		expect((await row(d.id))?.next_check_at).toBe(T0 + 20 * MINUTE);
		await cronAt(T0 + 15 * MINUTE); // not due: the backoff is 10 minutes now
		expect(await lookups()).toBe(2);

		expect((await send(ws, d.name)).status).toBe(422);
		await publishTxt(`_mailqueue.${d.name}`, d.token);
		await cronAt(T0 + 20 * MINUTE);
		expect(await row(d.id)).toMatchObject({
			status: "verified",
			failed_checks: 0,
			next_check_at: T0 + 20 * MINUTE + 24 * HOUR,
		});
		// The cron runs in this isolate too: the cached principal was dropped with the change.
		expect((await send(ws, d.name)).status).toBe(202);
	});

	it("fails a pending domain after 72 hours without its TXT, with the reason and an event", async () => {
		const ws = await createWorkspace();
		const d = await addDomain(ws);
		await cronAt(T0 + MINUTE);
		// 72 h later the window is over; the check then is the second definitive miss in a row.
		await env.DB.prepare("UPDATE domains SET next_check_at = ? WHERE id = ?")
			.bind(T0 + 72 * HOUR, d.id)
			.run();
		await cronAt(T0 + 72 * HOUR - MINUTE);
		expect((await row(d.id))?.status).toBe("pending");
		await cronAt(T0 + 72 * HOUR);
		const failed = await row(d.id);
		expect(failed).toMatchObject({ status: "failed", next_check_at: null });
		expect(failed?.failure_reason).toBe(
			`not verified within 72 hours: the TXT record _mailqueue.${d.name} "${d.token}" is missing`,
		);
		const event = await env.DB.prepare("SELECT data FROM events WHERE workspace_id = ? AND type = 'domain_failed'")
			.bind(ws.id)
			.first<{ data: string }>();
		expect(JSON.parse(event?.data ?? "{}")).toMatchObject({ domain_id: d.id, reason: failed?.failure_reason });
		const refused = await send(ws, d.name);
		expect((await json<{ error: { message: string } }>(refused)).error.message).toContain(
			"failed verification: not verified within 72 hours",
		);
	});

	it("re-verifies a verified domain daily; one failed lookup changes nothing; 72 h missing fails it and refuses mail", async () => {
		const ws = await createWorkspace();
		const d = await addDomain(ws);
		await publishTxt(`_mailqueue.${d.name}`, d.token);
		await cronAt(T0 + MINUTE);
		expect((await row(d.id))?.status).toBe("verified");
		const day = T0 + MINUTE + 24 * HOUR;
		expect((await row(d.id))?.next_check_at).toBe(day);

		// A resolver failure on the daily check: still verified, nothing counted, tried again soon.
		await servfail(`_mailqueue.${d.name}`);
		await cronAt(day);
		expect(await row(d.id)).toMatchObject({
			status: "verified",
			failed_checks: 0,
			missing_since: null,
			next_check_at: day + 10 * MINUTE,
		});

		// The TXT is removed: one miss marks it missing, checked hourly, and mail still flows.
		await removeDns(`_mailqueue.${d.name}`);
		await cronAt(day + 10 * MINUTE);
		expect(await row(d.id)).toMatchObject({
			status: "verified",
			failed_checks: 1,
			missing_since: day + 10 * MINUTE,
			next_check_at: day + 70 * MINUTE,
		});
		expect((await send(ws, d.name)).status).toBe(202);

		// Back within the window: recovered, the count cleared.
		await publishTxt(`_mailqueue.${d.name}`, d.token);
		await cronAt(day + 70 * MINUTE);
		expect(await row(d.id)).toMatchObject({ status: "verified", failed_checks: 0, missing_since: null });

		// Removed for good: it fails once it has been missing for 72 h, and not before.
		await removeDns(`_mailqueue.${d.name}`);
		const gone = day + 2 * HOUR;
		await env.DB.prepare("UPDATE domains SET next_check_at = ? WHERE id = ?").bind(gone, d.id).run();
		await cronAt(gone);
		for (const at of [gone + HOUR, gone + 71 * HOUR]) {
			await env.DB.prepare("UPDATE domains SET next_check_at = ? WHERE id = ?").bind(at, d.id).run();
			await cronAt(at);
			expect((await row(d.id))?.status).toBe("verified");
		}
		await env.DB.prepare("UPDATE domains SET next_check_at = ? WHERE id = ?")
			.bind(gone + 72 * HOUR, d.id)
			.run();
		await cronAt(gone + 72 * HOUR);
		const failed = await row(d.id);
		expect(failed).toMatchObject({ status: "failed", next_check_at: null });
		expect(failed?.failure_reason).toBe(
			`verification lost: the TXT record _mailqueue.${d.name} "${d.token}" is missing since ${new Date(gone).toISOString()}`,
		);
		const refused = await send(ws, d.name);
		expect(refused.status).toBe(422);
		const error = (await json<{ error: { code: string; message: string } }>(refused)).error;
		expect(error.code).toBe("domain_not_verified");
		expect(error.message).toContain(`_mailqueue.${d.name}`);
	});

	it("does not fail a domain on one failed lookup, even long past the window", async () => {
		const ws = await createWorkspace();
		const d = await addDomain(ws);
		// A cron that was down for 3 days: the first check after it is one miss, not two.
		await env.DB.prepare("UPDATE domains SET next_check_at = ? WHERE id = ?")
			.bind(T0 + 80 * HOUR, d.id)
			.run();
		await cronAt(T0 + 80 * HOUR);
		expect(await row(d.id)).toMatchObject({ status: "pending", failed_checks: 1 });
		await cronAt(T0 + 80 * HOUR + 10 * MINUTE);
		expect((await row(d.id))?.status).toBe("failed");
	});

	it("checks at most DOMAIN_CHECKS_PER_RUN domains per run, oldest due first", async () => {
		const ws = await createWorkspace();
		const ids: string[] = [];
		for (let i = 0; i < DOMAIN_CHECKS_PER_RUN + 3; i++) ids.push((await addDomain(ws)).id);
		await env.DB.batch(
			ids.map((id, i) => env.DB.prepare("UPDATE domains SET next_check_at = ? WHERE id = ?").bind(T0 + i, id)),
		);
		await cronAt(T0 + MINUTE);
		const checked = await env.DB.prepare(
			"SELECT COUNT(*) AS n FROM domains WHERE workspace_id = ? AND last_checked_at IS NOT NULL",
		)
			.bind(ws.id)
			.first<{ n: number }>();
		expect(checked?.n).toBe(DOMAIN_CHECKS_PER_RUN);
		expect((await row(ids[ids.length - 1] ?? ""))?.next_check_at).toBe(T0 + ids.length - 1);
		await cronAt(T0 + 2 * MINUTE);
		expect((await row(ids[ids.length - 1] ?? ""))?.next_check_at).toBe(T0 + 3 * MINUTE);
	});
});
