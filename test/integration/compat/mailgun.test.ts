// Mailgun's messages API: a form body with Basic auth `api:<key>`, `{domain}` a verified domain,
// `o:tag`/`v:`/`h:` mapped, recipient-variables as one message per recipient, Mailgun's answers.
import { describe, expect, it } from "vitest";
import { compatRequest, deliveredMime, expectDelivered, mimeBase64 } from "../../helpers/compat";
import { createWorkspace } from "../../helpers/workspace";

const basic = (key: string, user = "api") => ({ authorization: `Basic ${btoa(`${user}:${key}`)}` });

function form(domain: string, extra: [string, string][] = []): URLSearchParams {
	return new URLSearchParams([
		["from", `App <app@${domain}>`],
		["to", "ada@example.net"],
		["to", "bob@example.net"],
		["subject", "Hello"],
		["text", "Hi"],
		["html", "<p>Hi</p>"],
		["o:tag", "welcome"],
		["o:tag", "onboarding"],
		["v:user", "7"],
		["h:X-Campaign", "spring"],
		["h:Reply-To", "help@example.net"],
		...extra,
	]);
}

async function post(domain: string, headers: Record<string, string>, body: URLSearchParams | FormData) {
	const isForm = body instanceof FormData;
	const rawBody = isForm ? undefined : body.toString();
	if (isForm) {
		const res = new Response(body);
		return compatRequest(`/v3/${domain}/messages`, {
			headers: { ...headers, "content-type": res.headers.get("content-type") ?? "" },
			rawBody: new TextDecoder().decode(await res.arrayBuffer()),
		});
	}
	return compatRequest(`/v3/${domain}/messages`, {
		headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
		rawBody,
	});
}

describe("Mailgun POST /v3/{domain}/messages", () => {
	it("answers {id: <id@domain>, message} for a urlencoded form, tags, metadata and headers mapped", async () => {
		const ws = await createWorkspace();
		const sent = await post(ws.domain, basic(ws.key), form(ws.domain));
		expect(sent.res.status).toBe(200);
		const body = (await sent.res.json()) as { id: string; message: string };
		expect(body.message).toBe("Queued. Thank you.");
		const id = body.id.match(/^<(.+)@(.+)>$/);
		expect(id?.[2]).toBe(ws.domain);
		expect(sent.jobs[0]?.message).toMatchObject({
			to: [{ email: "ada@example.net" }, { email: "bob@example.net" }],
			tags: ["welcome", "onboarding"],
			metadata: { user: "7" },
			headers: { "X-Campaign": "spring" },
			replyTo: [{ email: "help@example.net" }],
		});
		await expectDelivered(sent, ws.key, [id?.[1] ?? ""]);
	});

	it("takes multipart/form-data and gives each recipient of recipient-variables its own filled-in message", async () => {
		const ws = await createWorkspace();
		const fd = new FormData();
		fd.append("from", `app@${ws.domain}`);
		fd.append("to", "Ada <ada@example.net>, bob@example.net");
		fd.append("subject", "Hi %recipient.first%");
		fd.append("text", "Your code is %recipient.code%");
		fd.append("v:code", "%recipient.code%");
		fd.append(
			"recipient-variables",
			JSON.stringify({ "ada@example.net": { first: "Ada", code: 1 }, "bob@example.net": { first: "Bob", code: 2 } }),
		);
		const sent = await post(ws.domain, basic(ws.key), fd);
		expect(sent.res.status).toBe(200);
		const body = (await sent.res.json()) as { id: string; ids: string[] };
		expect(body.ids).toHaveLength(2);
		expect(body.id).toBe(body.ids[0]);
		const ids = body.ids.map((i) => i.slice(1, i.indexOf("@")));
		const byId = new Map(sent.jobs.map((j) => [j.id, j.message]));
		expect(ids.map((i) => byId.get(i))).toMatchObject([
			{
				to: [{ email: "ada@example.net", name: "Ada" }],
				subject: "Hi Ada",
				text: "Your code is 1",
				metadata: { code: "1" },
			},
			{ to: [{ email: "bob@example.net" }], subject: "Hi Bob", text: "Your code is 2", metadata: { code: "2" } },
		]);
		await expectDelivered(sent, ws.key, ids);
	});

	it("takes attachment and inline file parts: base64 in the MIME, inline under its file name", async () => {
		const ws = await createWorkspace();
		// ASCII bytes: the helper posts the multipart body as text.
		const pdf = `%PDF-1.4\n${"x".repeat(120)}`;
		const body = new FormData();
		for (const [k, v] of form(ws.domain, [["html", '<p>Hi <img src="cid:logo.png"></p>']])) body.append(k, v);
		body.append("attachment", new File([pdf], "invoice.pdf", { type: "application/pdf" }));
		body.append("inline", new File(["PNG logo"], "logo.png", { type: "image/png" }));
		const sent = await post(ws.domain, basic(ws.key), body);
		expect(sent.res.status).toBe(200);
		const { id } = (await sent.res.json()) as { id: string };
		const [mime = ""] = await deliveredMime(sent, ws.key, [id.slice(1, id.indexOf("@"))]);
		expect(mime).toMatch(/^Content-Disposition: attachment; filename="invoice\.pdf"\r$/m);
		expect(mime).toContain(mimeBase64(btoa(pdf)));
		expect(mime).toMatch(/^Content-Disposition: inline; filename="logo\.png"\r$/m);
		expect(mime).toContain("Content-ID: <logo.png>\r\n");
		expect(mime).toContain(btoa("PNG logo"));
	});

	it("lets an Idempotency-Key cover the files: the same form with another file is refused", async () => {
		const ws = await createWorkspace();
		const withFile = (bytes: string) => {
			const body = new FormData();
			for (const [k, v] of form(ws.domain)) body.append(k, v);
			body.append("attachment", new File([bytes], "a.txt", { type: "text/plain" }));
			return body;
		};
		const headers = { ...basic(ws.key), "idempotency-key": "mg-files-1" };
		const first = await post(ws.domain, headers, withFile("one"));
		expect(first.res.status).toBe(200);
		const replay = await post(ws.domain, headers, withFile("one"));
		expect(await replay.res.json()).toEqual(await first.res.json());
		expect(replay.jobs).toHaveLength(0);
		const other = await post(ws.domain, headers, withFile("two"));
		expect(other.res.status).toBe(400);
		expect(other.jobs).toHaveLength(0);
	});

	it("answers Mailgun's errors: 401 Forbidden, 404 unknown domain, 400 {message}, 403 unverified sender", async () => {
		const ws = await createWorkspace();
		const other = await createWorkspace();
		const noAuth = await post(ws.domain, {}, form(ws.domain));
		expect(noAuth.res.status).toBe(401);
		expect(await noAuth.res.text()).toBe("Forbidden");
		const wrongUser = await post(ws.domain, basic(ws.key, "key"), form(ws.domain));
		expect(wrongUser.res.status).toBe(401);
		const foreign = await post(ws.domain, basic(other.key), form(ws.domain));
		expect(foreign.res.status).toBe(404);
		expect(await foreign.res.json()).toEqual({ message: `Domain not found: ${ws.domain}` });
		for (const extra of [
			[["o:deliverytime", "Fri, 14 Oct 2030 23:10:10 -0000"]],
			[["template", "welcome"]],
			[["o:tag", "has space"]],
		] as [string, string][][]) {
			const sent = await post(ws.domain, basic(ws.key), form(ws.domain, extra));
			expect(sent.res.status).toBe(400);
			expect(((await sent.res.json()) as { message: string }).message.length).toBeGreaterThan(0);
			expect(sent.jobs).toHaveLength(0);
		}
		// An attachment must be a file part: a text parameter named so is refused, naming it.
		const textFile = await post(ws.domain, basic(ws.key), form(ws.domain, [["attachment", "hi"]]));
		expect(textFile.res.status).toBe(400);
		expect(((await textFile.res.json()) as { message: string }).message).toMatch(/attachment/);
		expect(textFile.jobs).toHaveLength(0);
		const unverified = form(ws.domain);
		unverified.set("from", "app@not-ours.test");
		const refused = await post(ws.domain, basic(ws.key), unverified);
		expect(refused.res.status).toBe(403);
		expect(refused.jobs).toHaveLength(0);
	});
});
