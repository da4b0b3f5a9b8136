// /v1/smtp answers only a key with email:send, and a message lands in the key's own workspace.
import { describe, expect, it } from "vitest";
import type { SendJob } from "../../src/domain/messages/model";
import { json, RecordingQueue, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

const b64 = (text: string) => btoa(text);

describe("/v1/smtp security", () => {
	for (const path of ["/v1/smtp/auth", "/v1/smtp/messages"]) {
		it(`${path}: no key and an unknown key are 401, a key without email:send is 403`, async () => {
			const noKey = await request(path, { method: "POST" });
			expect(noKey.status).toBe(401);
			const unknown = await request(path, { method: "POST", key: "mq_test_0000000000000000000000000000000000000" });
			expect(unknown.status).toBe(401);
			const reader = await createWorkspace({ scopes: ["email:read"] });
			const res = await request(path, { method: "POST", key: reader.key });
			expect(res.status).toBe(403);
			expect((await json<{ error: { code: string } }>(res)).error.code).toBe("forbidden");
			// The same route with the scope succeeds, so the refusals above are the scope's doing.
			const sender = await createWorkspace({ scopes: ["email:send"] });
			const raw = b64(`From: app@${sender.domain}\r\nTo: a@x.test\r\nSubject: s\r\n\r\nHi\r\n`);
			const allowed = await request(path, {
				key: sender.key,
				body: path.endsWith("messages") ? { mail_from: "", rcpt_to: ["a@x.test"], raw } : {},
				env: { SEND_QUEUE: new RecordingQueue() },
			});
			expect([200, 202]).toContain(allowed.status);
		});
	}

	it("cannot send from another workspace's verified domain", async () => {
		const mine = await createWorkspace();
		const theirs = await createWorkspace();
		const queue = new RecordingQueue();
		const raw = b64(`From: app@${theirs.domain}\r\nTo: a@x.test\r\nSubject: s\r\n\r\nHi\r\n`);
		const res = await request("/v1/smtp/messages", {
			key: mine.key,
			body: { mail_from: "", rcpt_to: ["a@x.test"], raw },
			env: { SEND_QUEUE: queue },
		});
		expect(res.status).toBe(422);
		expect(queue.sent).toEqual([]);
		const ok = await request("/v1/smtp/messages", {
			key: theirs.key,
			body: { mail_from: "", rcpt_to: ["a@x.test"], raw },
			env: { SEND_QUEUE: queue },
		});
		expect(ok.status).toBe(202);
		expect((queue.sent[0] as SendJob).workspaceId).toBe(theirs.id);
	});
});
