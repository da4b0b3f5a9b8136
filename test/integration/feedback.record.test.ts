// recordFeedback end to end against D1: statuses move forward only, the event is written and published
// once per source event, the recipients table and the suppression list follow.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Feedback } from "../../src/domain/feedback/model";
import { recordFeedback } from "../../src/domain/feedback/record";
import { eventTypes, job, messageState, recipientStates } from "../helpers/delivery";
import { RecordingQueue, runQueue } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

/** A message sent through the sandbox to `to`, as the consumer records it. */
async function sentMessage(to: string[]) {
	const ws = await createWorkspace();
	const body = await job(ws.id, ws.domain, { to: to.map((email) => ({ email })) })();
	await runQueue("mq-send", [{ ...body, sandbox: true }]);
	expect(await messageState(body.id)).toMatchObject({ status: "sent" });
	return { ws, id: body.id };
}

function queues() {
	const events = new RecordingQueue();
	const webhooks = new RecordingQueue();
	return { events, webhooks, deps: { db: env.DB, queues: { events, webhooks } } };
}

const feedback = (workspaceId: string, messageId: string | null, over: Partial<Feedback>): Feedback => ({
	workspaceId,
	messageId,
	recipient: "a@x.test",
	kind: "hard_bounce",
	reason: "user_unknown",
	status: "5.1.1",
	diagnostic: "550 5.1.1 no such user",
	source: "email",
	at: Date.now(),
	...over,
});

async function suppression(workspaceId: string, email: string) {
	return env.DB.prepare(
		"SELECT reason, source_message_id, expires_at FROM suppressions WHERE workspace_id = ? AND email = ?",
	)
		.bind(workspaceId, email)
		.first<{ reason: string; source_message_id: string | null; expires_at: number | null }>();
}

async function recipientRow(workspaceId: string, email: string) {
	return env.DB.prepare(
		"SELECT status, bounce_count, soft_bounce_count FROM recipients WHERE workspace_id = ? AND email = ?",
	)
		.bind(workspaceId, email)
		.first<{ status: string; bounce_count: number; soft_bounce_count: number }>();
}

describe("recordFeedback", () => {
	it("turns a hard bounce into a bounced recipient and message, an event, a recipients row and a suppression; a replay writes nothing", async () => {
		const { ws, id } = await sentMessage(["a@x.test"]);
		const q = queues();
		const item = feedback(ws.id, id, { recipient: "A@x.test", sourceEventId: "dsn-1" });

		expect(await recordFeedback(q.deps, [item])).toEqual([{ recorded: true, suppressed: true }]);
		expect(await recipientStates(id)).toEqual([
			expect.objectContaining({
				email: "a@x.test",
				status: "bounced",
				last_error: expect.stringMatching(/^hard_bounce: 5\.1\.1/),
			}),
		]);
		expect(await messageState(id)).toMatchObject({ status: "bounced" });
		expect((await eventTypes(id)).filter((t) => t.startsWith("bounced"))).toEqual(["bounced:a@x.test"]);
		const event = await env.DB.prepare("SELECT data FROM events WHERE message_id = ? AND type = 'bounced'")
			.bind(id)
			.first<{ data: string }>();
		expect(JSON.parse(event?.data ?? "{}")).toEqual({
			kind: "hard_bounce",
			source: "email",
			reason: "user_unknown",
			status: "5.1.1",
			diagnostic: "550 5.1.1 no such user",
		});
		expect(await recipientRow(ws.id, "a@x.test")).toEqual({ status: "bounced", bounce_count: 1, soft_bounce_count: 0 });
		expect(await suppression(ws.id, "a@x.test")).toEqual({
			reason: "hard_bounce",
			source_message_id: id,
			expires_at: null,
		});
		expect(q.events.sent).toEqual([expect.objectContaining({ type: "bounced", messageId: id, recipient: "a@x.test" })]);
		expect(q.webhooks.sent).toHaveLength(1);

		// The same DSN again (and a copy in the same call): nothing new anywhere.
		const replay = queues();
		expect(await recordFeedback(replay.deps, [item, { ...item, at: item.at + 5 }])).toEqual([
			{ recorded: false, suppressed: false },
			{ recorded: false, suppressed: false },
		]);
		expect((await eventTypes(id)).filter((t) => t.startsWith("bounced"))).toHaveLength(1);
		expect(await recipientRow(ws.id, "a@x.test")).toMatchObject({ bounce_count: 1 });
		expect(replay.events.sent).toEqual([]);
	});

	it("records nothing for a message of another workspace", async () => {
		const { id } = await sentMessage(["a@x.test"]);
		const other = await createWorkspace();
		const q = queues();
		expect(await recordFeedback(q.deps, [feedback(other.id, id, { sourceEventId: "x" })])).toEqual([
			{ recorded: false, suppressed: false },
		]);
		expect(await recipientStates(id)).toEqual([expect.objectContaining({ status: "sent" })]);
		expect(await suppression(other.id, "a@x.test")).toBeNull();
		expect(q.events.sent).toEqual([]);
	});

	it("moves statuses forward only: delivered, then complained; a later delivered event changes nothing", async () => {
		const { ws, id } = await sentMessage(["a@x.test", "b@x.test"]);
		const q = queues();
		const t = Date.now();
		await recordFeedback(q.deps, [
			feedback(ws.id, id, { kind: "send", recipient: "a@x.test", sourceEventId: "d1", at: t }),
			feedback(ws.id, id, { kind: "send", recipient: "b@x.test", sourceEventId: "d2", at: t }),
		]);
		expect((await recipientStates(id)).map((r) => r.status)).toEqual(["delivered", "delivered"]);
		expect(await messageState(id)).toMatchObject({ status: "delivered" });

		const [complaint] = await recordFeedback(q.deps, [
			feedback(ws.id, id, { kind: "spam", recipient: "a@x.test", sourceEventId: "c1", at: t + 1 }),
		]);
		expect(complaint).toEqual({ recorded: true, suppressed: true });
		expect(await suppression(ws.id, "a@x.test")).toMatchObject({ reason: "complaint" });
		expect(await recipientRow(ws.id, "a@x.test")).toMatchObject({ status: "complained" });

		await recordFeedback(q.deps, [
			feedback(ws.id, id, { kind: "send", recipient: "a@x.test", sourceEventId: "d3", at: t + 2 }),
			feedback(ws.id, id, { kind: "soft_bounce", reason: "mailbox_full", recipient: "a@x.test", sourceEventId: "s1" }),
		]);
		expect((await recipientStates(id)).map((r) => r.status)).toEqual(["complained", "delivered"]);
		expect(await recipientRow(ws.id, "a@x.test")).toMatchObject({ status: "complained" });
	});

	it("suppresses after the workspace's soft-bounce limit within its window, not before", async () => {
		const { ws, id } = await sentMessage(["full@x.test"]);
		await env.DB.prepare("UPDATE workspaces SET settings = ? WHERE id = ?")
			.bind(JSON.stringify({ suppression: { soft_bounce_limit: 2, soft_bounce_window_days: 7 } }), ws.id)
			.run();
		const q = queues();
		const soft = (n: number, at: number) =>
			feedback(ws.id, id, {
				kind: "soft_bounce",
				reason: "mailbox_full",
				status: "4.2.2",
				recipient: "full@x.test",
				sourceEventId: `s${n}`,
				at,
			});
		const day = 86_400_000;
		const t = Date.now();
		// Two soft bounces eight days apart: the window restarted, no suppression.
		expect(await recordFeedback(q.deps, [soft(1, t - 8 * day)])).toEqual([{ recorded: true, suppressed: false }]);
		expect(await recordFeedback(q.deps, [soft(2, t)])).toEqual([{ recorded: true, suppressed: false }]);
		expect(await suppression(ws.id, "full@x.test")).toBeNull();
		expect(await recipientStates(id)).toEqual([expect.objectContaining({ status: "sent" })]);
		// The second inside the window: suppressed.
		expect(await recordFeedback(q.deps, [soft(3, t + 1000)])).toEqual([{ recorded: true, suppressed: true }]);
		expect(await suppression(ws.id, "full@x.test")).toMatchObject({ reason: "soft_bounce" });
		expect(await recipientRow(ws.id, "full@x.test")).toMatchObject({
			status: "active",
			bounce_count: 3,
			soft_bounce_count: 2,
		});
		expect((await eventTypes(id)).filter((e) => e.startsWith("soft_bounced"))).toHaveLength(3);
	});

	it("records feedback without a message (an unsubscribe heard by a provider) against the workspace", async () => {
		const ws = await createWorkspace();
		const q = queues();
		const unsub = feedback(ws.id, null, {
			kind: "unsub",
			recipient: "u@x.test",
			source: "mailgun",
			sourceEventId: "m-1",
		});
		expect(await recordFeedback(q.deps, [unsub])).toEqual([{ recorded: true, suppressed: true }]);
		expect(await suppression(ws.id, "u@x.test")).toMatchObject({ reason: "unsubscribe", source_message_id: null });
		expect(await recipientRow(ws.id, "u@x.test")).toMatchObject({ status: "unsubscribed" });
		expect(q.events.sent).toEqual([expect.objectContaining({ type: "unsubscribed", messageId: null })]);
	});
});
