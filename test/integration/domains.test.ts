// /v1/domains and their effect on who may send: the records to publish, reserved test names by
// environment, subdomains, and a pending or deleted domain that cannot send.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type Domain, uniqueDomain } from "../helpers/doh";
import { json, RecordingQueue, request, sampleEmail } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const development = { ENVIRONMENT: "development" } as const;

describe("domains", () => {
	it("adds a domain as pending with every record to publish, lists, gets and deletes it", async () => {
		const ws = await createWorkspace();
		const name = uniqueDomain();
		const res = await request("/v1/domains", { key: ws.key, body: { name: name.toUpperCase() } });
		expect(res.status).toBe(201);
		const domain = await json<Domain>(res);
		expect(domain).toMatchObject({ name, status: "pending", verified_by: null, include_subdomains: false });
		expect(domain.next_check_at).not.toBeNull();
		const [ownership, bounce, dmarc, extra] = domain.records;
		expect(ownership).toMatchObject({
			purpose: "ownership",
			type: "TXT",
			name: `_mailqueue.${name}`,
			required: true,
			status: "unchecked",
		});
		expect(ownership?.value).toMatch(/^mq-verify=[A-Za-z0-9_-]{20,}$/);
		expect(bounce).toMatchObject({ purpose: "return_path", type: "MX", name: `bounces.${name}`, required: false });
		// The workspace's only gateway is the sandbox, which needs no SPF include.
		expect(dmarc).toMatchObject({
			purpose: "dmarc",
			name: `_dmarc.${name}`,
			value: `v=DMARC1; p=none; rua=mailto:dmarc-reports@${name}`,
		});
		expect(extra).toBeUndefined();

		const list = await json<{ data: Domain[] }>(await request("/v1/domains", { key: ws.key }));
		expect(list.data.map((d) => d.name).sort()).toEqual([ws.domain, name].sort());
		expect((await request(`/v1/domains/${domain.id}`, { key: ws.key })).status).toBe(200);

		expect((await request("/v1/domains", { key: ws.key, body: { name } })).status).toBe(409);
		expect((await request(`/v1/domains/${domain.id}`, { key: ws.key, method: "DELETE" })).status).toBe(200);
		expect((await request(`/v1/domains/${domain.id}`, { key: ws.key })).status).toBe(404);
	});

	it("asks for an SPF include per enabled gateway type", async () => {
		const ws = await createWorkspace();
		await env.DB.batch(
			[
				["mailgun", 1],
				["ses", 1],
				["resend", 1],
				["postmark", 0],
			].map(([type, enabled]) =>
				env.DB.prepare("INSERT INTO gateways (id, workspace_id, name, type, enabled) VALUES (?, ?, ?, ?, ?)").bind(
					`gw_${crypto.randomUUID()}`,
					ws.id,
					`${type}`,
					type,
					enabled,
				),
			),
		);
		const name = uniqueDomain();
		const domain = await json<Domain>(await request("/v1/domains", { key: ws.key, body: { name } }));
		// SES and Resend share one include; the disabled Postmark gateway adds none.
		expect(domain.records.find((r) => r.purpose === "spf")).toMatchObject({
			type: "TXT",
			name,
			value: "v=spf1 include:amazonses.com include:mailgun.org ~all",
			required: false,
		});
	});

	it("refuses invalid domain names with 422", async () => {
		const ws = await createWorkspace();
		for (const name of ["", "localhost", "a..b.net", "-x.net", "x_y.net", `${"a".repeat(64)}.net`]) {
			expect((await request("/v1/domains", { key: ws.key, body: { name } })).status, name).toBe(422);
		}
	});

	it("refuses reserved test names outside development, and verifies them at once in development", async () => {
		const ws = await createWorkspace();
		for (const name of [
			"shop.test",
			"a.example",
			"x.invalid",
			"app.localhost",
			"example.com",
			"mail.example.net",
			"example.org",
		]) {
			const refused = await request("/v1/domains", { key: ws.key, body: { name } });
			expect(refused.status, name).toBe(422);
			expect((await json<{ error: { message: string } }>(refused)).error.message).toContain("reserved for testing");
		}
		// Names that merely look alike are not reserved.
		expect((await request("/v1/domains", { key: ws.key, body: { name: "myexample.com" } })).status).toBe(201);

		const queue = new RecordingQueue();
		const dev = await request("/v1/domains", { key: ws.key, body: { name: "shop.test" }, env: development });
		expect(dev.status).toBe(201);
		expect(await json<Domain>(dev)).toMatchObject({
			status: "verified",
			verified_by: "development",
			next_check_at: null,
		});
		const sent = await request("/v1/emails", {
			key: ws.key,
			body: sampleEmail("shop.test"),
			env: { SEND_QUEUE: queue },
		});
		expect(sent.status).toBe(202);
	});

	it("accepts senders at subdomains only when the domain includes them", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const send = (from: string) =>
			request("/v1/emails", { key: ws.key, body: sampleEmail(from), env: { SEND_QUEUE: queue } }).then((r) => r.status);
		const list = await json<{ data: Domain[] }>(await request("/v1/domains", { key: ws.key }));
		const own = list.data.find((d) => d.name === ws.domain);
		expect(own?.include_subdomains).toBe(false);
		expect(await send(`news.${ws.domain}`)).toBe(422);

		const patched = await request(`/v1/domains/${own?.id}`, {
			key: ws.key,
			method: "PATCH",
			body: { include_subdomains: true },
		});
		expect(await json<Domain>(patched)).toMatchObject({ include_subdomains: true });
		// At once in this isolate, though the key's principal was cached by the 422 above.
		expect(await send(`news.${ws.domain}`)).toBe(202);
		expect(await send(`a.b.${ws.domain}`)).toBe(202);
		expect(await send(ws.domain)).toBe(202);
		// A name that only ends in the same letters is not a subdomain.
		expect(await send(`x${ws.domain}`)).toBe(422);

		await request(`/v1/domains/${own?.id}`, { key: ws.key, method: "PATCH", body: { include_subdomains: false } });
		expect(await send(`news.${ws.domain}`)).toBe(422);
		expect(
			(await request(`/v1/domains/${own?.id}`, { key: ws.key, method: "PATCH", body: { verified: true } })).status,
		).toBe(422);
	});

	it("does not let a pending domain send, says why, and stops a deleted verified domain at once", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const name = uniqueDomain("pending");
		await request("/v1/domains", { key: ws.key, body: { name } });
		const pending = await request("/v1/emails", { key: ws.key, body: sampleEmail(name), env: { SEND_QUEUE: queue } });
		expect(pending.status).toBe(422);
		const error = (await json<{ error: { code: string; message: string } }>(pending)).error;
		expect(error.code).toBe("domain_not_verified");
		expect(error.message).toContain(`pending verification: its TXT record _mailqueue.${name}`);

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
		const name = uniqueDomain("a-only");
		const created = await json<Domain>(await request("/v1/domains", { key: a.key, body: { name } }));
		expect((await request(`/v1/domains/${created.id}`, { key: b.key })).status).toBe(404);
		expect((await request(`/v1/domains/${created.id}`, { key: b.key, method: "DELETE" })).status).toBe(404);
		// The same name may be added by another workspace; verification decides who owns it.
		expect((await request("/v1/domains", { key: b.key, body: { name } })).status).toBe(201);
	});
});
