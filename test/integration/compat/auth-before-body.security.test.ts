// The compat surfaces authenticate before they read a body, as /v1 does: a request without a valid
// key in the provider's place is refused in the provider's shape without a byte of its body read.
// Mandrill is the exception by necessity (its key is in the body): it reads the body, within the
// size limit, before anything else.
import { describe, expect, it } from "vitest";
import { requestWithStreamedBody } from "../../helpers/worker";
import { createWorkspace } from "../../helpers/workspace";

const post = (path: string, total: number, headers: Record<string, string>) =>
	requestWithStreamedBody(path, total, headers);

const WRONG = "mq_test_wrongwrongwrongwrongwrongwrongwr";
const SURFACES: [string, (key: string) => Record<string, string>, number][] = [
	["/emails", (k) => ({ authorization: `Bearer ${k}` }), 403],
	["/emails/batch", (k) => ({ authorization: `Bearer ${k}` }), 403],
	["/email", (k) => ({ "x-postmark-server-token": k }), 401],
	["/email/batch", (k) => ({ "x-postmark-server-token": k }), 401],
	["/v3/mail/send", (k) => ({ authorization: `Bearer ${k}` }), 401],
	["/v3/example.test/messages", (k) => ({ authorization: `Basic ${btoa(`api:${k}`)}` }), 401],
];

describe("compat surfaces: authentication before the body", () => {
	for (const [path, auth, status] of SURFACES) {
		it(`POST ${path}: a wrong key is refused (${status}) and the body is never read`, async () => {
			const { res, stats } = await post(path, 1024 * 1024, auth(WRONG));
			expect(res.status).toBe(status);
			expect(stats.pulls).toBe(0);
		});
	}

	it("reads the body once the key is good (the stream check above can fail)", async () => {
		const ws = await createWorkspace();
		const { res, stats } = await post("/email", 1024, { "x-postmark-server-token": ws.key });
		expect(res.status).toBe(422);
		expect(stats.pulls).toBeGreaterThan(0);
	});

	it("Mandrill reads the body to find its key, and refuses one over the size limit unread", async () => {
		const small = await post("/api/1.0/messages/send.json", 1024, {});
		expect(small.res.status).toBe(500);
		expect(small.stats.pulls).toBeGreaterThan(0);
		const big = await post("/api/1.0/messages/send.json", 20 * 1024 * 1024, {});
		expect(big.res.status).toBe(500);
		expect(((await big.res.json()) as { name: string }).name).toBe("ValidationError");
		expect(big.stats.pulls).toBe(0);
	});
});
