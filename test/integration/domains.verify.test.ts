// POST /v1/domains/{id}/verify against the fake DoH resolver: found, missing, wrong, split, CNAME,
// SERVFAIL and timeout, and what a verification does to who may send, at once in this isolate.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cnameRr, type Domain, dohEnv, mxRr, publishTxt, setDns, txtRr, uniqueDomain } from "../helpers/doh";
import { json, RecordingQueue, request, sampleEmail } from "../helpers/worker";
import { createWorkspace, type TestWorkspace } from "../helpers/workspace";

const record = (d: Domain, purpose: string) => d.records.find((r) => r.purpose === purpose);

async function pendingDomain(ws: TestWorkspace, extraEnv: Record<string, string> = {}) {
	const name = uniqueDomain();
	const domain = await json<Domain>(await request("/v1/domains", { key: ws.key, body: { name } }));
	const token = record(domain, "ownership")?.value ?? "";
	const verify = async () => {
		const res = await request(`/v1/domains/${domain.id}/verify`, {
			key: ws.key,
			method: "POST",
			env: dohEnv(extraEnv),
		});
		expect(res.status).toBe(200);
		return json<Domain>(res);
	};
	return { name, id: domain.id, token, verify };
}

describe("POST /v1/domains/{id}/verify", () => {
	it("verifies a domain whose TXT is found, and its sends are accepted at once in this isolate", async () => {
		const ws = await createWorkspace();
		const queue = new RecordingQueue();
		const d = await pendingDomain(ws);
		const send = () => request("/v1/emails", { key: ws.key, body: sampleEmail(d.name), env: { SEND_QUEUE: queue } });
		// The refused send caches the key's principal, with the domain still pending.
		expect((await send()).status).toBe(422);

		await publishTxt(`_mailqueue.${d.name}`, "google-site-verification=x", d.token);
		const verified = await d.verify();
		expect(verified).toMatchObject({ status: "verified", verified_by: "dns", failure_reason: null });
		expect(record(verified, "ownership")).toMatchObject({ status: "ok" });
		expect((await send()).status).toBe(202);
		expect(queue.sent).toHaveLength(1);

		// The change is recorded as an event of the workspace.
		const event = await env.DB.prepare("SELECT type, data FROM events WHERE workspace_id = ? AND type LIKE 'domain_%'")
			.bind(ws.id)
			.first<{ type: string; data: string }>();
		expect(event?.type).toBe("domain_verified");
		expect(JSON.parse(event?.data ?? "{}")).toMatchObject({ domain_id: d.id, domain: d.name, by: "dns" });
		// GET shows the same check.
		const read = await json<Domain>(await request(`/v1/domains/${d.id}`, { key: ws.key }));
		expect(record(read, "ownership")?.status).toBe("ok");
	});

	it("reports a missing TXT as missing and a wrong one with what was found, and stays pending", async () => {
		const ws = await createWorkspace();
		const d = await pendingDomain(ws);
		const missing = await d.verify();
		expect(missing.status).toBe("pending");
		expect(record(missing, "ownership")).toMatchObject({ status: "missing" });
		expect(record(missing, "ownership")?.found).toBeUndefined();

		await publishTxt(`_mailqueue.${d.name}`, "mq-verify=someone-elses-token");
		const wrong = await d.verify();
		expect(wrong.status).toBe("pending");
		expect(record(wrong, "ownership")).toMatchObject({ status: "wrong", found: ["mq-verify=someone-elses-token"] });
		const queue = new RecordingQueue();
		expect(
			(await request("/v1/emails", { key: ws.key, body: sampleEmail(d.name), env: { SEND_QUEUE: queue } })).status,
		).toBe(422);
	});

	it("joins a token split into several strings and follows a CNAME to it", async () => {
		const ws = await createWorkspace();
		const split = await pendingDomain(ws);
		await publishTxt(`_mailqueue.${split.name}`, [split.token.slice(0, 12), split.token.slice(12)]);
		expect((await split.verify()).status).toBe("verified");

		const aliased = await pendingDomain(ws);
		const target = uniqueDomain("delegated");
		await setDns(`_mailqueue.${aliased.name}`, "TXT", {
			answer: [cnameRr(`_mailqueue.${aliased.name}`, target), txtRr(target, aliased.token)],
		});
		expect((await aliased.verify()).status).toBe("verified");
	});

	it("treats SERVFAIL and a slow resolver as try later: nothing changes, nothing is called missing", async () => {
		const ws = await createWorkspace();
		const d = await pendingDomain(ws);
		await setDns(`_mailqueue.${d.name}`, "TXT", { status: 2 });
		const servfail = await d.verify();
		expect(servfail.status).toBe("pending");
		expect(record(servfail, "ownership")).toMatchObject({
			status: "try_later",
			error: "the resolver answered SERVFAIL",
		});

		await setDns(`_mailqueue.${d.name}`, "TXT", { delayMs: 1200, answer: [txtRr(`_mailqueue.${d.name}`, d.token)] });
		const slow = await d.verify();
		expect(slow.status).toBe("pending");
		expect(record(slow, "ownership")).toMatchObject({
			status: "try_later",
			error: "the resolver did not answer within 400 ms",
		});
		// The same answer within the timeout verifies: it was the resolver's slowness that was refused.
		expect(
			(
				await json<Domain>(
					await request(`/v1/domains/${d.id}/verify`, {
						key: ws.key,
						method: "POST",
						env: dohEnv({ DOH_TIMEOUT_MS: "3000" }),
					}),
				)
			).status,
		).toBe("verified");

		const failures = await env.DB.prepare("SELECT failed_checks FROM domains WHERE id = ?")
			.bind(d.id)
			.first<{ failed_checks: number }>();
		expect(failures?.failed_checks).toBe(0);
	});

	it("checks the guidance records: bounce MX, SPF includes and DMARC", async () => {
		const ws = await createWorkspace();
		await env.DB.prepare("INSERT INTO gateways (id, workspace_id, name, type) VALUES (?, ?, 'Mailgun', 'mailgun')")
			.bind(`gw_${crypto.randomUUID()}`, ws.id)
			.run();
		const d = await pendingDomain(ws, { INBOUND_MX_HOST: "mx.relay.example.net" });
		await setDns(`bounces.${d.name}`, "MX", { answer: [mxRr(`bounces.${d.name}`, "mx.other.example.net")] });
		await publishTxt(d.name, "v=spf1 include:_spf.google.com ~all");
		const before = await d.verify();
		expect(record(before, "return_path")).toMatchObject({
			value: "10 mx.relay.example.net",
			status: "wrong",
			found: ["mx.other.example.net"],
		});
		expect(record(before, "spf")).toMatchObject({ status: "wrong", found: ["v=spf1 include:_spf.google.com ~all"] });
		expect(record(before, "dmarc")).toMatchObject({ status: "missing" });
		// Guidance records never gate: the ownership TXT is missing, so the domain stays pending either way.
		expect(before.status).toBe("pending");

		await setDns(`bounces.${d.name}`, "MX", { answer: [mxRr(`bounces.${d.name}`, "mx.relay.example.net")] });
		await publishTxt(d.name, "v=spf1 include:_spf.google.com include:mailgun.org ~all");
		await publishTxt(`_dmarc.${d.name}`, ["v=DMARC1; p=none; ", "rua=mailto:me@x.net"]);
		const after = await d.verify();
		expect(["return_path", "spf", "dmarc"].map((p) => record(after, p)?.status)).toEqual(["ok", "ok", "ok"]);

		await publishTxt(d.name, "v=spf1 include:mailgun.org ~all", "v=spf1 -all");
		expect(record(await d.verify(), "spf")).toMatchObject({ status: "wrong", error: "more than one SPF record" });
	});

	it("gives a failed domain a new pending window when checked again, and verifies it when found", async () => {
		const ws = await createWorkspace();
		const d = await pendingDomain(ws);
		await env.DB.prepare(
			"UPDATE domains SET status = 'failed', failure_reason = 'gone', next_check_at = NULL, failed_checks = 9 WHERE id = ?",
		)
			.bind(d.id)
			.run();
		const again = await d.verify();
		expect(again).toMatchObject({ status: "pending", failure_reason: null });
		expect(again.next_check_at).not.toBeNull();
		await publishTxt(`_mailqueue.${d.name}`, d.token);
		expect((await d.verify()).status).toBe("verified");
	});
});
