// /v1/recipients: filled on send, statuses follow feedback, history newest first, custom fields,
// and a PUT status decides sending through the suppression list.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { recordFeedback } from "../../src/domain/feedback/record";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace, type TestWorkspace } from "../helpers/workspace";

async function send(ws: TestWorkspace, to: string | string[]) {
	const queue = new RecordingQueue();
	const res = await request("/v1/emails", {
		key: ws.key,
		body: sampleEmail(ws.domain, { to }),
		env: { SEND_QUEUE: queue },
	});
	expect(res.status).toBe(202);
	await runQueue("mq-send", queue.sent);
	const { id } = await json<{ id: string }>(res);
	return { id, status: (await json<{ status: string }>(await request(`/v1/emails/${id}`, { key: ws.key }))).status };
}

type Recipient = {
	email: string;
	status: string;
	sent_count: number;
	fields: Record<string, string>;
	name: string | null;
};
type Detail = Recipient & {
	bounce_count: number;
	suppression: { reason: string; list: string } | null;
	messages: { message_id: string; status: string }[];
	events: { type: string; message_id: string | null }[];
};

describe("recipients", () => {
	it("counts sends, follows a bounce to BOUNCED, and shows the history newest first", async () => {
		const ws = await createWorkspace();
		const first = await send(ws, ["ann@x.test", "bob@y.test"]);
		const second = await send(ws, "ann@x.test");
		expect([first.status, second.status]).toEqual(["sent", "sent"]);

		const page = await json<{ data: Recipient[]; has_more: boolean }>(await request("/v1/recipients", { key: ws.key }));
		expect(page.data.map((r) => [r.email, r.status, r.sent_count])).toEqual([
			["ann@x.test", "ACTIVE", 2],
			["bob@y.test", "ACTIVE", 1],
		]);

		const events = { events: new RecordingQueue(), webhooks: new RecordingQueue() };
		await recordFeedback({ db: env.DB, queues: events }, [
			{
				workspaceId: ws.id,
				messageId: second.id,
				recipient: "ann@x.test",
				kind: "hard_bounce",
				reason: "user_unknown",
				status: "5.1.1",
				source: "email",
				sourceEventId: "dsn-ann",
				at: Date.now(),
			},
		]);
		const ann = await json<Detail>(await request("/v1/recipients/ann@x.test", { key: ws.key }));
		expect(ann).toMatchObject({
			status: "BOUNCED",
			bounce_count: 1,
			suppression: { reason: "hard_bounce", list: "workspace" },
		});
		expect(ann.messages.map((m) => [m.message_id, m.status])).toEqual([
			[second.id, "bounced"],
			[first.id, "sent"],
		]);
		expect(ann.events[0]).toMatchObject({ type: "bounced", message_id: second.id });
		expect(ann.events.map((e) => e.type)).toContain("sent");

		const filtered = await json<{ data: Recipient[] }>(await request("/v1/recipients?status=BOUNCED", { key: ws.key }));
		expect(filtered.data.map((r) => r.email)).toEqual(["ann@x.test"]);
		const byDomain = await json<{ data: Recipient[] }>(await request("/v1/recipients?domain=y.test", { key: ws.key }));
		expect(byDomain.data.map((r) => r.email)).toEqual(["bob@y.test"]);
		const paged = await json<{ data: Recipient[]; next_cursor: string }>(
			await request("/v1/recipients?limit=1", { key: ws.key }),
		);
		const next = await json<{ data: Recipient[]; has_more: boolean }>(
			await request(`/v1/recipients?limit=1&cursor=${paged.next_cursor}`, { key: ws.key }),
		);
		expect([...paged.data, ...next.data].map((r) => r.email)).toEqual(["ann@x.test", "bob@y.test"]);
		expect(next.has_more).toBe(false);
	});

	it("stores name and custom fields; UNSUBSCRIBED suppresses the next send, ACTIVE lifts it", async () => {
		const ws = await createWorkspace();
		const put = (body: Record<string, unknown>) =>
			request("/v1/recipients/Cat@X.test", { key: ws.key, method: "PUT", body });
		const created = await put({ name: "Cat", fields: { first_name: "Cat", plan: "pro" } });
		expect(created.status).toBe(200);
		expect(await json(created)).toMatchObject({
			email: "cat@x.test",
			name: "Cat",
			status: "ACTIVE",
			fields: { plan: "pro" },
		});
		expect((await send(ws, "cat@x.test")).status).toBe("sent");

		expect(await json(await put({ status: "UNSUBSCRIBED" }))).toMatchObject({
			status: "UNSUBSCRIBED",
			name: "Cat",
			fields: { plan: "pro" },
		});
		const entry = await json(await request("/v1/suppressions/cat@x.test", { key: ws.key }));
		expect(entry).toMatchObject({ reason: "unsubscribe" });
		expect((await send(ws, "cat@x.test")).status).toBe("suppressed");

		expect(await json(await put({ status: "ACTIVE", fields: { plan: "free" } }))).toMatchObject({
			status: "ACTIVE",
			fields: { plan: "free" },
		});
		expect((await request("/v1/suppressions/cat@x.test", { key: ws.key })).status).toBe(404);
		expect((await send(ws, "cat@x.test")).status).toBe("sent");
		const detail = await json<Detail>(await request("/v1/recipients/cat@x.test", { key: ws.key }));
		expect(detail.messages.map((m) => m.status)).toEqual(["sent", "suppressed", "sent"]);
		expect(detail.sent_count).toBe(2);
	});
});
