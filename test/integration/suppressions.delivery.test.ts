// Skipping suppressed recipients at delivery: the others go on, a message with nobody left reads
// `suppressed`, an expired entry does not suppress, the platform's list applies to every workspace,
// and the recipients table counts what was sent.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/lib/ids";
import { eventTypes, job, messageState, recipientStates } from "../helpers/delivery";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

async function suppress(workspaceId: string, email: string, expiresAt: number | null = null) {
	await env.DB.prepare(
		"INSERT INTO suppressions (id, workspace_id, email, reason, expires_at) VALUES (?, ?, ?, 'manual', ?)",
	)
		.bind(newId("sup"), workspaceId, email, expiresAt)
		.run();
}

async function envelopeTo(workspaceId: string, id: string): Promise<string | undefined> {
	return (await env.BODIES.head(`mime/${workspaceId}/${id}.eml`))?.customMetadata?.envelopeTo;
}

describe("suppressed recipients at delivery", () => {
	it("skips the suppressed one of three recipients with a `suppressed` event; the other two reach the sandbox", async () => {
		const ws = await createWorkspace();
		await suppress(ws.id, "b@x.test");
		const body = await job(ws.id, ws.domain, {
			to: [{ email: "a@x.test" }, { email: "B@x.test" }],
			cc: [{ email: "c@x.test" }],
		})();
		await runQueue("mq-send", [{ ...body, sandbox: true }]);

		expect(await messageState(body.id)).toMatchObject({ status: "sent" });
		expect((await recipientStates(body.id)).map((r) => [r.email, r.status, r.attempts])).toEqual([
			["B@x.test", "suppressed", 0],
			["a@x.test", "sent", 1],
			["c@x.test", "sent", 1],
		]);
		expect(await envelopeTo(ws.id, body.id)).toBe("a@x.test,c@x.test");
		expect(await eventTypes(body.id)).toContain("suppressed:b@x.test");
		const event = await env.DB.prepare("SELECT data FROM events WHERE message_id = ? AND type = 'suppressed'")
			.bind(body.id)
			.first<{ data: string }>();
		expect(JSON.parse(event?.data ?? "{}")).toEqual({ reason: "manual", list: "workspace" });

		// The recipients table counts the two sends, not the skipped one.
		const { results } = await env.DB.prepare(
			"SELECT email, sent_count, last_sent_at FROM recipients WHERE workspace_id = ? ORDER BY email",
		)
			.bind(ws.id)
			.all<{ email: string; sent_count: number; last_sent_at: number | null }>();
		expect(results.map((r) => [r.email, r.sent_count, r.last_sent_at !== null])).toEqual([
			["a@x.test", 1, true],
			["c@x.test", 1, true],
		]);
	});

	it("accepts a single-recipient send to a suppressed address with 202, which then reads `suppressed` and sends nothing", async () => {
		const ws = await createWorkspace();
		await suppress(ws.id, "gone@x.test");
		const send = async (to: string) => {
			const queue = new RecordingQueue();
			const response = await request("/v1/emails", {
				key: ws.key,
				body: sampleEmail(ws.domain, { to }),
				env: { SEND_QUEUE: queue },
			});
			expect(response.status).toBe(202);
			await runQueue("mq-send", queue.sent);
			const { id } = await json<{ id: string }>(response);
			const read = await json<{ status: string }>(await request(`/v1/emails/${id}`, { key: ws.key }));
			return { id, status: read.status };
		};
		// The same path to an address not on the list sends, so the skip below is the suppression's doing.
		const control = await send("free@x.test");
		expect(control.status).toBe("sent");
		expect(await envelopeTo(ws.id, control.id)).toBe("free@x.test");

		const skipped = await send("gone@x.test");
		expect(skipped.status).toBe("suppressed");
		expect(await envelopeTo(ws.id, skipped.id)).toBeUndefined();
		expect(await eventTypes(skipped.id)).toEqual(["queued", "processing", "suppressed:gone@x.test"]);
	});

	it("does not skip for an expired entry", async () => {
		const ws = await createWorkspace();
		await suppress(ws.id, "a@x.test", Date.now() - 1000);
		const body = await job(ws.id, ws.domain, { to: [{ email: "a@x.test" }] })();
		await runQueue("mq-send", [{ ...body, sandbox: true }]);
		expect(await messageState(body.id)).toMatchObject({ status: "sent" });
		expect(await envelopeTo(ws.id, body.id)).toBe("a@x.test");
	});

	it("skips an address on the platform-wide list in any workspace, not one on another workspace's list", async () => {
		const ws = await createWorkspace();
		const other = await createWorkspace();
		const email = `blocked-${newId("usr")}@x.test`;
		await env.DB.prepare("INSERT INTO platform_suppressions (id, email, reason) VALUES (?, ?, 'invalid')")
			.bind(newId("sup"), email)
			.run();
		await suppress(other.id, "theirs@x.test");
		const body = await job(ws.id, ws.domain, { to: [{ email }, { email: "theirs@x.test" }] })();
		await runQueue("mq-send", [{ ...body, sandbox: true }]);
		expect((await recipientStates(body.id)).map((r) => [r.email, r.status])).toEqual([
			[email, "suppressed"],
			["theirs@x.test", "sent"],
		]);
		const event = await env.DB.prepare("SELECT data FROM events WHERE message_id = ? AND type = 'suppressed'")
			.bind(body.id)
			.first<{ data: string }>();
		expect(JSON.parse(event?.data ?? "{}")).toEqual({ reason: "invalid", list: "platform" });
		await env.DB.prepare("DELETE FROM platform_suppressions WHERE email = ?").bind(email).run();
	});
});
