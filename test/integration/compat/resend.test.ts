// Resend's API at the relay's root: its request body mapped onto the one send path, its answers and
// its error shape `{statusCode, name, message}` with Resend's names and status codes.
import { describe, expect, it } from "vitest";
import { compatRequest, deliveredMime, expectDelivered, mimeBase64 } from "../../helpers/compat";
import { countRows, json, request } from "../../helpers/worker";
import { createWorkspace, insertKey } from "../../helpers/workspace";

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

function email(domain: string, overrides: Record<string, unknown> = {}) {
	return {
		from: `App <app@${domain}>`,
		to: ["ada@example.net"],
		cc: "cc@example.net",
		reply_to: "help@example.net",
		subject: "Welcome",
		html: "<p>Hi</p>",
		text: "Hi",
		headers: { "X-Campaign": "spring" },
		tags: [{ name: "category", value: "welcome" }],
		...overrides,
	};
}

describe("Resend POST /emails", () => {
	it("answers {id} and enqueues the mapped message, which reaches sent and reads back in Resend's shape", async () => {
		const ws = await createWorkspace();
		const sent = await compatRequest("/emails", { headers: bearer(ws.key), body: email(ws.domain) });
		expect(sent.res.status).toBe(200);
		const body = await json<{ id: string }>(sent.res);
		expect(Object.keys(body)).toEqual(["id"]);
		const message = sent.jobs[0]?.message;
		expect(message).toMatchObject({
			from: { email: `app@${ws.domain}`, name: "App" },
			to: [{ email: "ada@example.net" }],
			cc: [{ email: "cc@example.net" }],
			replyTo: [{ email: "help@example.net" }],
			subject: "Welcome",
			headers: { "X-Campaign": "spring" },
			tags: ["category:welcome"],
		});
		await expectDelivered(sent, ws.key, [body.id]);
		const got = await json(await request(`/emails/${body.id}`, { headers: bearer(ws.key) }));
		expect(got).toMatchObject({
			object: "email",
			id: body.id,
			from: `App <app@${ws.domain}>`,
			to: ["ada@example.net"],
			cc: ["cc@example.net"],
			last_event: "sent",
			tags: [{ name: "category", value: "welcome" }],
		});
	});

	it("carries attachments, base64 or a Buffer's bytes, and inline images into the delivered MIME", async () => {
		const ws = await createWorkspace();
		const pdf = btoa(`%PDF-1.4\n${"x".repeat(120)}`);
		const bytes = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
		const body = email(ws.domain, {
			html: '<p>Hi <img src="cid:logo"></p>',
			attachments: [
				{ filename: "invoice.pdf", content: pdf },
				{ filename: "logo.png", content: { type: "Buffer", data: bytes }, content_id: "logo" },
				{ filename: "notes.txt", content: [104, 105], content_type: "text/plain; charset=utf-8" },
			],
		});
		const sent = await compatRequest("/emails", { headers: bearer(ws.key), body });
		expect(sent.res.status).toBe(200);
		const { id } = await json<{ id: string }>(sent.res);
		const [mime = ""] = await deliveredMime(sent, ws.key, [id]);
		expect(mime).toMatch(/^Content-Disposition: attachment; filename="invoice\.pdf"\r$/m);
		expect(mime).toContain(mimeBase64(pdf));
		expect(mime).toMatch(/^Content-Disposition: inline; filename="logo\.png"\r$/m);
		expect(mime).toMatch(/^Content-ID: <logo>\r$/m);
		expect(mime).toContain(btoa(String.fromCharCode(...bytes)));
		expect(mime).toMatch(/^Content-Type: text\/plain; name="notes\.txt"\r$/m);
		expect(mime).toContain(btoa("hi"));
	});

	it("honours Idempotency-Key as /v1 does: the same id, nothing enqueued twice", async () => {
		const ws = await createWorkspace();
		const headers = { ...bearer(ws.key), "idempotency-key": "resend-1" };
		const first = await compatRequest("/emails", { headers, body: email(ws.domain) });
		const second = await compatRequest("/emails", { headers, body: email(ws.domain) });
		expect(second.res.headers.get("idempotent-replayed")).toBe("true");
		expect(await json(second.res)).toEqual(await json(first.res));
		expect(first.jobs).toHaveLength(1);
		expect(second.jobs).toHaveLength(0);
		const other = await compatRequest("/emails", { headers, body: email(ws.domain, { subject: "Other" }) });
		expect(other.res.status).toBe(409);
		expect(await json(other.res)).toMatchObject({ statusCode: 409, name: "invalid_idempotent_request" });
	});

	it("refuses what it cannot map with Resend's 422 validation_error, enqueuing nothing", async () => {
		const ws = await createWorkspace();
		for (const [overrides, field] of [
			[{ attachments: [{ filename: "a.txt", path: "https://example.com/a.txt" }] }, "attachments.0.path"],
			[{ attachments: [{ filename: "a.txt", content: "not base64!" }] }, "attachments.0.content"],
			[{ attachments: [{ content: "aGk=" }] }, "attachments.0.filename"],
			[{ scheduled_at: "in 1 hour" }, "scheduled_at"],
			[{ template: { id: "t" } }, "template"],
			[{ to: "not an address" }, "to"],
			[{ tags: [{ name: "a b", value: "c" }] }, "tags"],
			[{ react: "<Email/>" }, "react"],
		] as const) {
			const sent = await compatRequest("/emails", { headers: bearer(ws.key), body: email(ws.domain, overrides) });
			expect(sent.res.status).toBe(422);
			const body = await json<{ statusCode: number; name: string; message: string }>(sent.res);
			expect(body).toMatchObject({ statusCode: 422, name: "validation_error" });
			expect(body.message).toContain(field);
			expect(sent.jobs).toHaveLength(0);
		}
	});

	it("answers an unverified sender domain 403 validation_error", async () => {
		const ws = await createWorkspace();
		const sent = await compatRequest("/emails", {
			headers: bearer(ws.key),
			body: email(ws.domain, { from: "app@not-ours.test" }),
		});
		expect(sent.res.status).toBe(403);
		expect(await json(sent.res)).toMatchObject({ statusCode: 403, name: "validation_error" });
		expect(sent.jobs).toHaveLength(0);
	});

	it("tells a missing key (401 missing_api_key), a wrong key (403 invalid_api_key) and a key without the scope (401 restricted_api_key) apart", async () => {
		const ws = await createWorkspace();
		const readOnly = await insertKey(ws.id, { scopes: ["email:read"] });
		const cases = [
			[{}, 401, "missing_api_key"],
			[bearer("mq_test_wrongwrongwrongwrongwrongwrongwr"), 403, "invalid_api_key"],
			[bearer(readOnly.key), 401, "restricted_api_key"],
		] as const;
		for (const [headers, status, name] of cases) {
			const sent = await compatRequest("/emails", { headers, body: email(ws.domain) });
			expect(sent.res.status).toBe(status);
			expect(await json(sent.res)).toMatchObject({ statusCode: status, name });
			expect(sent.jobs).toHaveLength(0);
		}
	});

	it("authenticates before reading the body: invalid JSON without a key is 401, not 400", async () => {
		const sent = await compatRequest("/emails", {
			rawBody: '{"from": ',
			headers: { "content-type": "application/json" },
		});
		expect(sent.res.status).toBe(401);
		expect(await json(sent.res)).toMatchObject({ name: "missing_api_key" });
	});

	it("does not send from or read another workspace's email with this key", async () => {
		const ws = await createWorkspace();
		const other = await createWorkspace();
		const sent = await compatRequest("/emails", { headers: bearer(other.key), body: email(ws.domain) });
		expect(sent.res.status).toBe(403);
		const mine = await compatRequest("/emails", { headers: bearer(ws.key), body: email(ws.domain) });
		const { id } = await json<{ id: string }>(mine.res);
		const read = await request(`/emails/${id}`, { headers: bearer(other.key) });
		expect(read.status).toBe(404);
		expect(await json(read)).toMatchObject({ statusCode: 404, name: "not_found" });
		expect(await countRows("messages", other.id)).toBe(0);
	});
});

describe("Resend POST /emails/batch", () => {
	it("answers {data: [{id}…]} in request order, one message per email", async () => {
		const ws = await createWorkspace();
		const batch = ["a", "b", "c"].map((n) => email(ws.domain, { to: `${n}@example.net`, subject: `For ${n}` }));
		const sent = await compatRequest("/emails/batch", { headers: bearer(ws.key), body: batch });
		expect(sent.res.status).toBe(200);
		const { data } = await json<{ data: { id: string }[] }>(sent.res);
		expect(data).toHaveLength(3);
		const byId = new Map(sent.jobs.map((j) => [j.id, j.message]));
		expect(data.map((d) => byId.get(d.id)?.subject)).toEqual(["For a", "For b", "For c"]);
		expect(data.map((d) => byId.get(d.id)?.to)).toEqual([
			[{ email: "a@example.net" }],
			[{ email: "b@example.net" }],
			[{ email: "c@example.net" }],
		]);
		await expectDelivered(
			sent,
			ws.key,
			data.map((d) => d.id),
		);
	});

	it("strict (the default) refuses the whole batch for one bad email and names it; permissive accepts the rest", async () => {
		const ws = await createWorkspace();
		const batch = [email(ws.domain), email(ws.domain, { to: "nobody" }), email(ws.domain)];
		const strict = await compatRequest("/emails/batch", { headers: bearer(ws.key), body: batch });
		expect(strict.res.status).toBe(422);
		expect((await json<{ message: string }>(strict.res)).message).toMatch(/^emails\[1\]/);
		expect(strict.jobs).toHaveLength(0);
		const permissive = await compatRequest("/emails/batch", {
			headers: { ...bearer(ws.key), "x-batch-validation": "permissive" },
			body: batch,
		});
		expect(permissive.res.status).toBe(200);
		const body = await json<{ data: { id: string }[]; errors: { index: number; message: string }[] }>(permissive.res);
		expect(body.data).toHaveLength(2);
		expect(body.errors.map((e) => e.index)).toEqual([1]);
		expect(permissive.jobs).toHaveLength(2);
	});

	it("refuses more than 100 emails", async () => {
		const ws = await createWorkspace();
		const sent = await compatRequest("/emails/batch", {
			headers: bearer(ws.key),
			body: Array.from({ length: 101 }, () => email(ws.domain)),
		});
		expect(sent.res.status).toBe(422);
		expect(sent.jobs).toHaveLength(0);
	});
});
