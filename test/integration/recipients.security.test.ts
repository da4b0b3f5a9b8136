// /v1/recipients security: no key, a key without the scope, another workspace's recipient.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/lib/ids";
import { json, request } from "../helpers/worker";
import { createWorkspace, insertKey } from "../helpers/workspace";

describe("recipients security", () => {
	it("answers 401 without a key and 403 without the scope, and changes nothing", async () => {
		const ws = await createWorkspace();
		const { key: sender } = await insertKey(ws.id, { scopes: ["email:send"] });
		const { key: reader } = await insertKey(ws.id, { scopes: ["email:read"] });
		expect((await request("/v1/recipients")).status).toBe(401);
		expect((await request("/v1/recipients/a@x.test")).status).toBe(401);
		expect((await request("/v1/recipients/a@x.test", { method: "PUT", body: { status: "ACTIVE" } })).status).toBe(401);
		expect((await request("/v1/recipients", { key: sender })).status).toBe(403);
		expect((await request("/v1/recipients/a@x.test", { key: sender })).status).toBe(403);
		// Reading is not enough to change a status (it decides suppression).
		const put = { method: "PUT", body: { status: "UNSUBSCRIBED" } };
		expect((await request("/v1/recipients/a@x.test", { key: reader, ...put })).status).toBe(403);
		expect((await request("/v1/recipients", { key: reader })).status).toBe(200);
		const suppressions = await env.DB.prepare("SELECT COUNT(*) AS n FROM suppressions WHERE workspace_id = ?")
			.bind(ws.id)
			.first<{ n: number }>();
		expect(suppressions?.n).toBe(0);
		expect((await request("/v1/recipients/a@x.test", { key: ws.key, ...put })).status).toBe(200);
	});

	it("neither shows nor changes another workspace's recipient", async () => {
		const mine = await createWorkspace();
		const theirs = await createWorkspace();
		await env.DB.prepare(
			"INSERT INTO recipients (id, workspace_id, email, status, metadata) VALUES (?, ?, 'their@x.test', 'active', ?)",
		)
			.bind(newId("rcp"), theirs.id, JSON.stringify({ secret: "theirs" }))
			.run();
		expect((await request("/v1/recipients/their@x.test", { key: mine.key })).status).toBe(404);
		expect((await json<{ data: unknown[] }>(await request("/v1/recipients", { key: mine.key }))).data).toEqual([]);
		// A PUT of the same address makes a recipient of the caller's own workspace only.
		const put = await request("/v1/recipients/their@x.test", {
			key: mine.key,
			method: "PUT",
			body: { status: "COMPLAINED" },
		});
		expect(await json(put)).toMatchObject({ status: "COMPLAINED", fields: {} });
		const theirRow = await json(await request("/v1/recipients/their@x.test", { key: theirs.key }));
		expect(theirRow).toMatchObject({ status: "ACTIVE", fields: { secret: "theirs" }, suppression: null });
	});
});
