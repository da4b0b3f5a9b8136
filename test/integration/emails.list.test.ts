// GET /v1/emails: newest first, cursor pagination, filters by status, tag and date.
import { describe, expect, it } from "vitest";
import { json, RecordingQueue, request, runQueue, sampleEmail } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Page = {
	data: { id: string; status: string; tags: string[]; to: { email: string }[] }[];
	has_more: boolean;
	next_cursor: string | null;
};

async function seeded() {
	const ws = await createWorkspace();
	const queue = new RecordingQueue();
	const ids: string[] = [];
	for (let i = 0; i < 5; i++) {
		const to = i === 4 ? "tempfail@x.test" : `r${i}@x.test`;
		const tags = i % 2 === 0 ? ["even"] : ["odd"];
		const res = await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail(ws.domain, { to, tags }),
			env: { SEND_QUEUE: queue },
		});
		ids.push((await json<{ id: string }>(res)).id);
		await new Promise((r) => setTimeout(r, 3));
	}
	await runQueue("mq-send", queue.sent);
	return { ws, ids };
}

describe("GET /v1/emails", () => {
	it("pages newest first with a cursor until has_more is false", async () => {
		const { ws, ids } = await seeded();
		const seen: string[] = [];
		let cursor: string | null = null;
		do {
			const page: Page = await json<Page>(
				await request(`/v1/emails?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { key: ws.key }),
			);
			expect(page.data.length).toBeLessThanOrEqual(2);
			seen.push(...page.data.map((d) => d.id));
			cursor = page.has_more ? page.next_cursor : null;
		} while (cursor);
		expect(seen).toEqual([...ids].reverse());
	});

	it("filters by status, tag and creation date", async () => {
		const { ws, ids } = await seeded();
		const byStatus = await json<Page>(await request("/v1/emails?status=deferred", { key: ws.key }));
		expect(byStatus.data.map((d) => d.id)).toEqual([ids[4]]);
		const sent = await json<Page>(await request("/v1/emails?status=sent", { key: ws.key }));
		expect(sent.data).toHaveLength(4);
		expect(sent.data[0]?.to).toEqual([{ email: "r3@x.test", name: null }]);
		const odd = await json<Page>(await request("/v1/emails?tag=odd", { key: ws.key }));
		expect(odd.data.map((d) => d.id)).toEqual([ids[3], ids[1]]);
		const future = new Date(Date.now() + 60_000).toISOString();
		expect((await json<Page>(await request(`/v1/emails?date_from=${future}`, { key: ws.key }))).data).toEqual([]);
		const past = new Date(Date.now() - 60_000).toISOString();
		expect(
			(await json<Page>(await request(`/v1/emails?date_from=${past}&date_to=${future}`, { key: ws.key }))).data,
		).toHaveLength(5);
		expect((await json<Page>(await request(`/v1/emails?date_to=${past}`, { key: ws.key }))).data).toEqual([]);
	});
});
