// Global (platform) limits: operators set them with the PLATFORM_TOKEN; they cap the mail of every
// workspace together, soft ones defer in the consumer, hard ones refuse on the HTTP path and reject
// what was already accepted; and with none configured the consumer never asks the global instance.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { forgetPrincipals } from "../../src/domain/auth/principal";
import { GLOBAL_LIMITER_ID, limiterName } from "../../src/domain/rate-limits/model";
import { getStub } from "../../src/lib/durable-objects";
import { counters } from "../../src/lib/metrics";
import { job, messageState } from "../helpers/delivery";
import { platform } from "../helpers/platform";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Usage = { scope: string; window: string; limit: number; kind: string; used: number; remaining: number };

const putGlobal = (limits: unknown[]) => platform("/v1/platform/rate-limits", { method: "PUT", body: { limits } });

afterEach(async () => {
	expect((await putGlobal([])).status).toBe(200);
	await runInDurableObject(getStub(env.WORKSPACE_LIMITER, limiterName(GLOBAL_LIMITER_ID)), (_i, state) => {
		state.storage.sql.exec("DELETE FROM counters");
	});
});

describe("global (platform) rate limits", () => {
	it("are set with the platform token only, and validated", async () => {
		const ws = await createWorkspace();
		const put = { method: "PUT", body: { limits: [{ window: "hour", limit: 5 }] } };
		expect((await request("/v1/platform/rate-limits", { key: ws.key, ...put })).status).toBe(403);
		expect((await platform("/v1/platform/rate-limits", { ...put, key: "wrong" })).status).toBe(401);
		const bad = await putGlobal([{ window: "second", limit: 5 }]);
		expect(bad.status).toBe(422);
		expect((await json<{ error: { code: string } }>(bad)).error.code).toBe("validation_error");
		expect(
			(
				await putGlobal([
					{ window: "hour", limit: 1 },
					{ window: "hour", limit: 2 },
				])
			).status,
		).toBe(422);
		const ok = await putGlobal([{ scope: "global", window: "hour", limit: 5 }]);
		expect(ok.status).toBe(200);
		expect((await json<{ limits: Usage[] }>(ok)).limits).toEqual([
			expect.objectContaining({ scope: "global", window: "hour", limit: 5, kind: "soft", used: 0, remaining: 5 }),
		]);
	});

	it("caps the mail of two workspaces together; over a soft one the rest is deferred", async () => {
		await putGlobal([{ window: "hour", limit: 3, kind: "soft" }]);
		const a = await createWorkspace();
		const b = await createWorkspace();
		const first = [await job(a.id, a.domain)(), await job(a.id, a.domain)()];
		const second = [await job(b.id, b.domain)(), await job(b.id, b.domain)()];
		// Two batches, one per workspace: neither workspace has a limit of its own.
		await runQueue("mq-send", first, { SEND_QUEUE: new RecordingQueue() });
		const redrives = new RecordingQueue();
		await runQueue("mq-send", second, { SEND_QUEUE: redrives });
		const states = await Promise.all([...first, ...second].map((j) => messageState(j.id)));
		expect(states.map((s) => s?.status)).toEqual(["sent", "sent", "sent", "deferred"]);
		expect(states[3]?.last_error).toBe("held: rate limit reached: global hour soft limit 3");
		expect(states[3]?.attempts).toBe(0);
		expect(redrives.sent).toEqual([expect.objectContaining({ kind: "redrive", id: second[1]?.id })]);
		const usage = await json<{ limits: Usage[] }>(await platform("/v1/platform/rate-limits"));
		expect(usage.limits[0]).toMatchObject({ used: 3, remaining: 0 });
	});

	it("refuses a send on the HTTP path over a hard one, and rejects mail already accepted", async () => {
		await putGlobal([{ window: "day", limit: 2, kind: "hard" }]);
		const a = await createWorkspace();
		const b = await createWorkspace();
		const sink = new RecordingQueue();
		const send = (ws: { key: string; domain: string }) =>
			request("/v1/emails", { key: ws.key, body: sampleEmail(ws.domain), env: { SEND_QUEUE: sink } });
		// Below the limit both workspaces are accepted (the check passes), and a third is accepted too,
		// because the HTTP path checks what the consumer has counted, and nothing is counted yet.
		expect((await send(a)).status).toBe(202);
		expect((await send(b)).status).toBe(202);
		expect((await send(b)).status).toBe(202);
		await runQueue("mq-send", sink.sent, { SEND_QUEUE: new RecordingQueue() });
		const ids = sink.sent.map((j) => (j as { id: string }).id);
		const states = await Promise.all(ids.map((id) => messageState(id)));
		expect(states.map((s) => s?.status)).toEqual(["sent", "sent", "rejected"]);
		expect(states[2]?.last_error).toContain("rate limit reached: global day hard limit 2");
		// Now the counted units fill the limit: the next send of either workspace is refused at once.
		const refused = await send(a);
		expect(refused.status).toBe(429);
		expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
		const body = await json<{ error: { code: string; message: string; request_id: string } }>(refused);
		expect(body.error.code).toBe("rate_limited");
		expect(body.error.message).toContain("global day hard limit 2");
		expect(body.error.request_id).toBeTruthy();
		expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
		expect(sink.sent).toHaveLength(3);
	});

	it("gives back the global unit of mail not sent with the next global reserve, not with a call of its own", async () => {
		await putGlobal([{ window: "day", limit: 1, kind: "hard" }]);
		const lost = await createWorkspace({ gateway: false });
		const lostJob = await job(lost.id, lost.domain)();
		let before = counters.limiter_calls_total;
		await runQueue("mq-send", [lostJob], { SEND_QUEUE: new RecordingQueue() });
		expect((await messageState(lostJob.id))?.status).toBe("failed");
		// Two reserves (the workspace's and the global one); the global unit waits in this isolate.
		expect(counters.limiter_calls_total - before).toBe(2);
		expect((await json<{ limits: Usage[] }>(await platform("/v1/platform/rate-limits"))).limits[0]).toMatchObject({
			used: 1,
		});
		// The next batch's global reserve carries it back first, so the limit of 1 has room again.
		const next = await createWorkspace();
		const nextJob = await job(next.id, next.domain)();
		before = counters.limiter_calls_total;
		await runQueue("mq-send", [nextJob], { SEND_QUEUE: new RecordingQueue() });
		expect(counters.limiter_calls_total - before).toBe(2);
		expect((await messageState(nextJob.id))?.status).toBe("sent");
		// And now the limit is spent: a third message is rejected (the test can fail).
		const third = await job(next.id, next.domain)();
		await runQueue("mq-send", [third], { SEND_QUEUE: new RecordingQueue() });
		expect((await messageState(third.id))?.status).toBe("rejected");
	});

	it("costs no global call without global limits, and one per batch with them", async () => {
		const a = await createWorkspace();
		const b = await createWorkspace();
		const batch = async () => [await job(a.id, a.domain)(), await job(b.id, b.domain)()];
		let before = counters.limiter_calls_total;
		await runQueue("mq-send", await batch(), { SEND_QUEUE: new RecordingQueue() });
		expect(counters.limiter_calls_total - before).toBe(2);
		await putGlobal([{ window: "hour", limit: 100, kind: "soft" }]);
		forgetPrincipals(() => true);
		before = counters.limiter_calls_total;
		await runQueue("mq-send", await batch(), { SEND_QUEUE: new RecordingQueue() });
		expect(counters.limiter_calls_total - before).toBe(3);
	});
});
