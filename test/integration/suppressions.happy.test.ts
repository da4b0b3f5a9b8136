// /v1/suppressions and /v1/platform/suppressions: add one or many, list with filters and cursor,
// read and remove one; the lists decide what the consumer skips (suppressions.delivery.test.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { recordFeedback } from "../../src/domain/feedback/record";
import { platform } from "../helpers/platform";
import { json, RecordingQueue, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Entry = { id: string; email: string; reason: string; expires_at: string | null; active: boolean };
type Page = { data: Entry[]; has_more: boolean; next_cursor: string | null };

describe("suppression list", () => {
	it("adds one entry, reads it back case-insensitively, lists it and removes it", async () => {
		const ws = await createWorkspace({ scopes: ["suppression:manage"] });
		const added = await request("/v1/suppressions", { key: ws.key, body: { email: "Gone@Example.test" } });
		expect(added.status).toBe(201);
		expect((await json<{ data: Entry[] }>(added)).data).toEqual([
			expect.objectContaining({ email: "gone@example.test", reason: "manual", expires_at: null, active: true }),
		]);
		const one = await request("/v1/suppressions/GONE@example.test", { key: ws.key });
		expect(one.status).toBe(200);
		expect(await json(one)).toMatchObject({ email: "gone@example.test", reason: "manual" });

		const removed = await request("/v1/suppressions/gone@example.test", { key: ws.key, method: "DELETE" });
		expect(removed.status).toBe(204);
		expect((await request("/v1/suppressions/gone@example.test", { key: ws.key })).status).toBe(404);
	});

	it("adds a bulk list (the last entry for an address wins), filters by reason, prefix, domain and date, and pages by cursor", async () => {
		const ws = await createWorkspace();
		const later = new Date(Date.now() + 86_400_000).toISOString();
		const bulk = await request("/v1/suppressions", {
			key: ws.key,
			body: {
				suppressions: [
					{ email: "a1@one.test", reason: "hard_bounce" },
					{ email: "a2@one.test", reason: "complaint" },
					{ email: "b1@two.test", reason: "invalid", expires_at: later },
					{ email: "b2@two.test" },
					{ email: "b2@two.test", reason: "unsubscribe" },
				],
			},
		});
		expect(bulk.status).toBe(201);
		expect((await json<{ data: Entry[] }>(bulk)).data).toHaveLength(4);

		const list = async (query: string) => json<Page>(await request(`/v1/suppressions?${query}`, { key: ws.key }));
		expect((await list("reason=unsubscribe")).data.map((e) => e.email)).toEqual(["b2@two.test"]);
		expect((await list("email=a")).data.map((e) => e.email).sort()).toEqual(["a1@one.test", "a2@one.test"]);
		expect((await list("domain=TWO.test")).data.map((e) => e.email).sort()).toEqual(["b1@two.test", "b2@two.test"]);
		expect((await list("domain=two.test&reason=invalid")).data).toEqual([
			expect.objectContaining({ email: "b1@two.test", expires_at: later, active: true }),
		]);
		expect((await list(`created_to=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`)).data).toEqual(
			[],
		);

		const seen: string[] = [];
		let page = await list("limit=3");
		seen.push(...page.data.map((e) => e.email));
		expect(page.has_more).toBe(true);
		page = await list(`limit=3&cursor=${page.next_cursor}`);
		seen.push(...page.data.map((e) => e.email));
		expect(page).toMatchObject({ has_more: false, next_cursor: null });
		expect(seen.sort()).toEqual(["a1@one.test", "a2@one.test", "b1@two.test", "b2@two.test"]);
	});

	it("keeps the platform's list apart from the workspaces' lists", async () => {
		const ws = await createWorkspace();
		const email = `platform-${Date.now()}@example.test`;
		const added = await platform("/v1/platform/suppressions", { body: { email, reason: "invalid" } });
		expect(added.status).toBe(201);
		expect((await json<{ data: Entry[] }>(added)).data).toEqual([
			expect.objectContaining({ email, reason: "invalid" }),
		]);
		expect(await json(await platform(`/v1/platform/suppressions/${email}`))).toMatchObject({ email });
		const page = await json<Page>(await platform(`/v1/platform/suppressions?email=${email}`));
		expect(page.data.map((e) => e.email)).toEqual([email]);
		// Not on the workspace's own list.
		expect((await request(`/v1/suppressions/${email}`, { key: ws.key })).status).toBe(404);
		expect((await platform(`/v1/platform/suppressions/${email}`, { method: "DELETE" })).status).toBe(204);
		expect((await platform(`/v1/platform/suppressions/${email}`)).status).toBe(404);
	});

	it("applies the workspace's soft-bounce rule: defaults 3 in 7 days, changed to 1 a single soft bounce suppresses", async () => {
		const ws = await createWorkspace();
		const settings = await request("/v1/suppression-settings", { key: ws.key });
		expect(await json(settings)).toEqual({ soft_bounce_limit: 3, soft_bounce_window_days: 7 });
		const soft = (n: number) => ({
			workspaceId: ws.id,
			messageId: null,
			recipient: `full${n}@x.test`,
			kind: "soft_bounce" as const,
			reason: "mailbox_full" as const,
			source: "mailgun" as const,
			sourceEventId: `soft-${n}`,
			at: Date.now(),
		});
		const deps = { db: env.DB, queues: { events: new RecordingQueue(), webhooks: new RecordingQueue() } };
		expect(await recordFeedback(deps, [soft(1)])).toEqual([{ recorded: true, suppressed: false }]);

		const put = await request("/v1/suppression-settings", {
			key: ws.key,
			method: "PUT",
			body: { soft_bounce_limit: 1, soft_bounce_window_days: 7 },
		});
		expect(await json(put)).toEqual({ soft_bounce_limit: 1, soft_bounce_window_days: 7 });
		expect(await json(await request("/v1/suppression-settings", { key: ws.key }))).toMatchObject({
			soft_bounce_limit: 1,
		});
		expect(await recordFeedback(deps, [soft(2)])).toEqual([{ recorded: true, suppressed: true }]);
		expect(await json(await request("/v1/suppressions/full2@x.test", { key: ws.key }))).toMatchObject({
			reason: "soft_bounce",
		});
		expect(
			(
				await request("/v1/suppression-settings", {
					key: ws.key,
					method: "PUT",
					body: { soft_bounce_limit: -1, soft_bounce_window_days: 7 },
				})
			).status,
		).toBe(422);
	});
});
