// /v1/domains and their effect on who may send.
import { describe, expect, it } from "vitest";
import { json, RecordingQueue, request, sampleEmail } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Domain = {
	id: string;
	name: string;
	status: string;
	dns_records: { type: string; name: string; value: string }[];
};

describe("domains", () => {
	it("adds a domain as pending with the TXT record to publish, lists, gets and deletes it", async () => {
		const ws = await createWorkspace();
		const res = await request("/v1/domains", { key: ws.key, body: { name: "Mail.Example.ORG" } });
		expect(res.status).toBe(201);
		const domain = await json<Domain>(res);
		expect(domain.name).toBe("mail.example.org");
		expect(domain.status).toBe("pending");
		expect(domain.dns_records[0]).toMatchObject({ type: "TXT", name: "_mailqueue.mail.example.org" });
		expect(domain.dns_records[0]?.value).toMatch(/^mq-verify=/);

		const list = await json<{ data: Domain[] }>(await request("/v1/domains", { key: ws.key }));
		expect(list.data.map((d) => d.name).sort()).toEqual([ws.domain, "mail.example.org"].sort());
		expect((await request(`/v1/domains/${domain.id}`, { key: ws.key })).status).toBe(200);

		const dup = await request("/v1/domains", { key: ws.key, body: { name: "mail.example.org" } });
		expect(dup.status).toBe(409);
		expect(await request(`/v1/domains/${domain.id}`, { key: ws.key, method: "DELETE" }).then((r) => r.status)).toBe(
			200,
		);
		expect((await request(`/v1/domains/${domain.id}`, { key: ws.key })).status).toBe(404);
	});

	it("refuses invalid domain names with 422", async () => {
		const ws = await createWorkspace();
		for (const name of ["", "localhost", "a..b.test", "-x.test", "x_y.test", `${"a".repeat(64)}.test`]) {
			expect((await request("/v1/domains", { key: ws.key, body: { name } })).status, name).toBe(422);
		}
	});

	it("does not let a pending domain send, and stops a deleted verified domain at once", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		await request("/v1/domains", { key: ws.key, body: { name: "pending.test" } });
		const pending = await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail("pending.test"),
			env: { SEND_QUEUE: queue },
		});
		expect(pending.status).toBe(422);

		expect(
			(await request("/v1/emails", { key: ws.key, body: sampleEmail(ws.domain), env: { SEND_QUEUE: queue } })).status,
		).toBe(202);
		const list = await json<{ data: Domain[] }>(await request("/v1/domains", { key: ws.key }));
		const verified = list.data.find((d) => d.name === ws.domain);
		await request(`/v1/domains/${verified?.id}`, { key: ws.key, method: "DELETE" });
		const after = await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail(ws.domain),
			env: { SEND_QUEUE: queue },
		});
		expect(after.status).toBe(422);
		expect(queue.sent).toHaveLength(1);
	});

	it("keeps workspaces' domains apart", async () => {
		const a = await createWorkspace();
		const b = await createWorkspace();
		const created = await json<Domain>(await request("/v1/domains", { key: a.key, body: { name: "a-only.test" } }));
		expect((await request(`/v1/domains/${created.id}`, { key: b.key })).status).toBe(404);
		expect((await request(`/v1/domains/${created.id}`, { key: b.key, method: "DELETE" })).status).toBe(404);
		// The same name may be added by another workspace; verification decides who owns it.
		expect((await request("/v1/domains", { key: b.key, body: { name: "a-only.test" } })).status).toBe(201);
	});
});
