// /v1/inbound-routes: create (secret shown once), list, get, change, delete; only verified domains of
// the caller's workspace; admin scope; one route per pattern.
import { describe, expect, it } from "vitest";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Route = {
	id: string;
	match: string;
	address: string | null;
	domain: string;
	webhook_url: string | null;
	secret?: string;
};

describe("/v1/inbound-routes", () => {
	it("creates an address route with its secret once, then lists, reads, changes and deletes it", async () => {
		const ws = await createWorkspace();
		const created = await request("/v1/inbound-routes", {
			key: ws.key,
			body: { match: `Support@${ws.domain}`, webhook_url: "https://hooks.example.com/inbound" },
		});
		expect(created.status).toBe(201);
		const route = await json<Route>(created);
		expect(route).toMatchObject({ match: `support@${ws.domain}`, address: `support@${ws.domain}`, domain: ws.domain });
		expect(route.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);

		const read = await json<Route>(await request(`/v1/inbound-routes/${route.id}`, { key: ws.key }));
		expect(read.secret).toBeUndefined();
		expect(read.webhook_url).toBe("https://hooks.example.com/inbound");
		const list = await json<{ data: Route[] }>(await request("/v1/inbound-routes", { key: ws.key }));
		expect(list.data.map((r) => r.id)).toEqual([route.id]);

		const changed = await request(`/v1/inbound-routes/${route.id}`, {
			key: ws.key,
			method: "PATCH",
			body: { webhook_url: null, rotate_secret: true },
		});
		expect(changed.status).toBe(200);
		const after = await json<Route>(changed);
		expect(after.webhook_url).toBeNull();
		expect(after.secret).toMatch(/^whsec_/);
		expect(after.secret).not.toBe(route.secret);

		expect((await request(`/v1/inbound-routes/${route.id}`, { key: ws.key, method: "DELETE" })).status).toBe(204);
		expect((await request(`/v1/inbound-routes/${route.id}`, { key: ws.key })).status).toBe(404);
	});

	it("takes a whole domain as a storage-only route, and refuses a second route for the same pattern", async () => {
		const ws = await createWorkspace();
		const first = await request("/v1/inbound-routes", { key: ws.key, body: { match: ws.domain } });
		expect(first.status).toBe(201);
		expect(await json<Route>(first)).toMatchObject({ address: null, domain: ws.domain, webhook_url: null });
		const again = await request("/v1/inbound-routes", { key: ws.key, body: { match: ws.domain } });
		expect(again.status).toBe(409);
		expect((await json<{ error: { code: string } }>(again)).error.code).toBe("conflict");
	});

	it("refuses a domain the workspace has not verified, bounce domains and bad webhook URLs", async () => {
		const ws = await createWorkspace();
		const other = await createWorkspace();
		const foreign = await request("/v1/inbound-routes", { key: ws.key, body: { match: `a@${other.domain}` } });
		expect(foreign.status).toBe(422);
		expect((await json<{ error: { code: string } }>(foreign)).error.code).toBe("domain_not_verified");
		const bounce = await request("/v1/inbound-routes", { key: ws.key, body: { match: "bounces.example.test" } });
		expect(bounce.status).toBe(422);
		const badUrl = await request("/v1/inbound-routes", {
			key: ws.key,
			body: { match: ws.domain, webhook_url: "ftp://hooks.example.com" },
		});
		expect(badUrl.status).toBe(422);
		expect((await json<{ error: { message: string } }>(badUrl)).error.message).toMatch(/^webhook_url/);
	});
});

describe("/v1/inbound-routes security", () => {
	it("needs a key with the admin scope, and never shows or changes another workspace's routes", async () => {
		const ws = await createWorkspace();
		const other = await createWorkspace();
		const sender = await createWorkspace({ scopes: ["email:send"] });
		expect((await request("/v1/inbound-routes")).status).toBe(401);
		expect((await request("/v1/inbound-routes", { key: sender.key })).status).toBe(403);
		const route = await json<Route>(await request("/v1/inbound-routes", { key: ws.key, body: { match: ws.domain } }));
		expect((await request(`/v1/inbound-routes/${route.id}`, { key: other.key })).status).toBe(404);
		const del = await request(`/v1/inbound-routes/${route.id}`, { key: other.key, method: "DELETE" });
		expect(del.status).toBe(404);
		expect((await request(`/v1/inbound-routes/${route.id}`, { key: ws.key })).status).toBe(200);
		const list = await json<{ data: Route[] }>(await request("/v1/inbound-routes", { key: other.key }));
		expect(list.data).toEqual([]);
	});
});
