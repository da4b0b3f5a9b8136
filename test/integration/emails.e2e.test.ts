// The whole path on the real Miniflare queue: the API enqueues, Miniflare delivers the batch to the
// Worker's own queue consumer, D1 is written, the sandbox captures the MIME.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sampleEmail } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

async function get(path: string, key: string) {
	const res = await exports.default.fetch(
		new Request(`https://relay.test${path}`, { headers: { authorization: `Bearer ${key}` } }),
	);
	return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("send through the real send queue", () => {
	it("goes from 202 queued to sent with queued, processing and sent events", async () => {
		const ws = await createWorkspace();
		const res = await exports.default.fetch(
			new Request("https://relay.test/v1/emails", {
				method: "POST",
				headers: { authorization: `Bearer ${ws.key}`, "content-type": "application/json" },
				body: JSON.stringify(sampleEmail(ws.domain)),
			}),
		);
		expect(res.status).toBe(202);
		const { id } = (await res.json()) as { id: string };

		const first = await get(`/v1/emails/${id}`, ws.key);
		expect(first.status).toBe(200);

		let email = first.body;
		for (let i = 0; i < 100 && email.status !== "sent"; i++) {
			await new Promise((r) => setTimeout(r, 100));
			email = (await get(`/v1/emails/${id}`, ws.key)).body;
		}
		expect(email.status).toBe("sent");
		const events = email.events as { type: string; created_at: string }[];
		expect(events.map((e) => e.type)).toEqual(["queued", "processing", "sent"]);
		for (const e of events) expect(Number.isNaN(Date.parse(e.created_at))).toBe(false);
		expect(email.sent_at).not.toBeNull();
	});
});
