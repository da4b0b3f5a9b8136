// Idempotency-Key semantics (IETF httpapi draft) through the IdempotencyStore Durable Object.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { idempotencyStore } from "../../src/domain/idempotency";
import { IDEMPOTENCY_RETENTION_MS } from "../../workers/durable-objects/idempotency-store";
import { json, RecordingQueue, request, sampleEmail } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const send = (key: string, body: unknown, idem: string, queue: RecordingQueue) =>
	request("/v1/emails", { key, body, headers: { "idempotency-key": idem }, env: { SEND_QUEUE: queue } });

describe("Idempotency-Key", () => {
	it("replays the original status and body for the same key and body, enqueuing once", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const first = await send(ws.key, sampleEmail(ws.domain), "k1", queue);
		const second = await send(ws.key, sampleEmail(ws.domain), "k1", queue);
		expect(first.status).toBe(202);
		expect(first.headers.get("idempotent-replayed")).toBeNull();
		expect(second.status).toBe(202);
		expect(second.headers.get("idempotent-replayed")).toBe("true");
		expect(await json(second)).toEqual(await json(first));
		expect(queue.sent).toHaveLength(1);
	});

	it("refuses the same key with a different body with 422", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		await send(ws.key, sampleEmail(ws.domain), "k2", queue);
		const res = await send(ws.key, sampleEmail(ws.domain, { subject: "Other" }), "k2", queue);
		expect(res.status).toBe(422);
		expect((await json<{ error: { code: string } }>(res)).error.code).toBe("idempotency_key_reused");
		expect(queue.sent).toHaveLength(1);
	});

	it("refuses the same key on another endpoint with 422", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		await send(ws.key, sampleEmail(ws.domain), "k3", queue);
		const res = await request("/v1/emails/batch", {
			key: ws.key,
			body: [sampleEmail(ws.domain)],
			headers: { "idempotency-key": "k3" },
			env: { SEND_QUEUE: queue },
		});
		expect(res.status).toBe(422);
	});

	it("answers 409 while the first request with the key is still in flight", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		let release = () => {};
		queue.gate = new Promise((resolve) => {
			release = resolve;
		});
		const entered = queue.nextSend();
		const first = send(ws.key, sampleEmail(ws.domain), "k4", queue);
		await entered;
		const second = await send(ws.key, sampleEmail(ws.domain), "k4", queue);
		expect(second.status).toBe(409);
		expect((await json<{ error: { code: string } }>(second)).error.code).toBe("idempotency_key_in_use");
		release();
		expect((await first).status).toBe(202);
		expect(queue.sent).toHaveLength(1);
	});

	it("frees the key when the request failed with a 5xx, so a retry can succeed", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		queue.failure = new Error("down");
		expect((await send(ws.key, sampleEmail(ws.domain), "k5", queue)).status).toBe(503);
		queue.failure = null;
		const retry = await send(ws.key, sampleEmail(ws.domain), "k5", queue);
		expect(retry.status).toBe(202);
		expect(retry.headers.get("idempotent-replayed")).toBeNull();
	});

	it("frees a key whose first request died in flight once its lock runs out", async () => {
		const ws = await createWorkspace();
		const stub = idempotencyStore(env.IDEMPOTENCY, ws.id, "k7");
		const fingerprint = "f".repeat(64);
		const first = await stub.begin("k7", fingerprint);
		expect(first).toMatchObject({ kind: "proceed", partial: null });
		expect(await stub.begin("k7", fingerprint)).toEqual({ kind: "in_flight" });
		await runInDurableObject(stub, (_instance, state) => {
			state.storage.sql.exec("UPDATE entries SET locked_until = 0 WHERE key = 'k7'");
		});
		const second = await stub.begin("k7", fingerprint);
		expect(second).toMatchObject({ kind: "proceed", partial: null });
		if (first.kind !== "proceed" || second.kind !== "proceed") throw new Error("unreachable");
		expect(second.firstSeenAt).toBe(first.firstSeenAt);
		expect(await stub.complete("k7", second.token, 202, '{"id":"x"}')).toBe(true);
		expect(await stub.begin("k7", fingerprint)).toEqual({ kind: "replay", status: 202, body: '{"id":"x"}' });
		expect(await stub.begin("k7", "other")).toEqual({ kind: "mismatch" });
	});

	it("scopes keys to the workspace", async () => {
		const a = await createWorkspace();
		const b = await createWorkspace();
		const queue = new RecordingQueue();
		const first = await json<{ id: string }>(await send(a.key, sampleEmail(a.domain), "shared", queue));
		const other = await send(b.key, sampleEmail(b.domain), "shared", queue);
		expect(other.status).toBe(202);
		expect(other.headers.get("idempotent-replayed")).toBeNull();
		expect((await json<{ id: string }>(other)).id).not.toBe(first.id);
	});

	it("accepts keys up to 256 characters and refuses longer or empty ones with 400", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		expect((await send(ws.key, sampleEmail(ws.domain), "k".repeat(256), queue)).status).toBe(202);
		for (const bad of ["k".repeat(257), "has space"]) {
			const res = await send(ws.key, sampleEmail(ws.domain), bad, queue);
			expect(res.status).toBe(400);
			expect((await json<{ error: { code: string } }>(res)).error.code).toBe("invalid_idempotency_key");
		}
	});

	it("keeps an entry at least 24 hours and removes it by alarm once expired", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		await send(ws.key, sampleEmail(ws.domain), "k6", queue);
		const stub = idempotencyStore(env.IDEMPOTENCY, ws.id, "k6");
		const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
		expect(alarm).toBeGreaterThanOrEqual(Date.now() + IDEMPOTENCY_RETENTION_MS - 60_000);

		await runInDurableObject(stub, (_instance, state) => {
			state.storage.sql.exec("UPDATE entries SET expires_at = 0 WHERE key = 'k6'");
		});
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		const left = await runInDurableObject(
			stub,
			(_instance, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM entries WHERE key = 'k6'").one().n,
		);
		expect(left).toBe(0);
		const again = await send(ws.key, sampleEmail(ws.domain), "k6", queue);
		expect(again.headers.get("idempotent-replayed")).toBeNull();
		expect(queue.sent).toHaveLength(2);
	});
});
