// GET and PATCH /v1/reputation: the rates, state and settings a workspace sees, partial changes that
// keep the other settings, and the validation errors with the one envelope.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULT_REPUTATION, hourOf } from "../../src/domain/reputation/model";
import { json, request } from "../helpers/worker";
import { createWorkspace } from "../helpers/workspace";

type Envelope = { error: { code: string; message: string; request_id: string } };
type View = {
	state: string;
	since: string | null;
	throttled_to_per_minute: number | null;
	assessment: { level: string; window: string | null };
	windows: Record<"24h" | "7d", { sent: number; bounced: number; complained: number; bounce_rate: number | null }>;
	settings: typeof DEFAULT_REPUTATION;
};

const patch = (key: string, body: unknown) => request("/v1/reputation", { key, method: "PATCH", body });

describe("GET /v1/reputation", () => {
	it("answers a new workspace with no counts, state ok and the default settings", async () => {
		const ws = await createWorkspace();
		const res = await request("/v1/reputation", { key: ws.key });
		expect(res.status).toBe(200);
		expect(await json<View>(res)).toEqual({
			state: "ok",
			since: null,
			reason: null,
			throttled_to_per_minute: null,
			assessment: { level: "ok", window: null },
			windows: {
				"24h": { sent: 0, bounced: 0, complained: 0, bounce_rate: null, complaint_rate: null },
				"7d": { sent: 0, bounced: 0, complained: 0, bounce_rate: null, complaint_rate: null },
			},
			settings: DEFAULT_REPUTATION,
		});
	});

	it("shows the counts and rates of the workspace, and what they will make of its state", async () => {
		const ws = await createWorkspace();
		await env.DB.prepare(
			"INSERT INTO reputation_counters (workspace_id, hour, sent, bounced, complained) VALUES (?, ?, 400, 24, 0)",
		)
			.bind(ws.id, hourOf(Date.now()) - 2)
			.run();
		const view = await json<View>(await request("/v1/reputation", { key: ws.key }));
		expect(view.windows["24h"]).toMatchObject({ sent: 400, bounced: 24, bounce_rate: 0.06 });
		expect(view.assessment).toEqual({ level: "throttle", window: "24h" });
		expect(view.state).toBe("ok"); // until the cron's next tick
	});
});

describe("PATCH /v1/reputation", () => {
	it("changes the fields given and keeps the others", async () => {
		const ws = await createWorkspace();
		const first = await patch(ws.key, { bounce_throttle: 0.08, throttle_per_minute: 30 });
		expect(first.status).toBe(200);
		expect((await json<View>(first)).settings).toEqual({
			...DEFAULT_REPUTATION,
			bounce_throttle: 0.08,
			throttle_per_minute: 30,
		});
		const second = await json<View>(await patch(ws.key, { min_volume: 50 }));
		expect(second.settings).toEqual({
			...DEFAULT_REPUTATION,
			bounce_throttle: 0.08,
			throttle_per_minute: 30,
			min_volume: 50,
		});
		expect((await json<View>(await request("/v1/reputation", { key: ws.key }))).settings.min_volume).toBe(50);
		// Other workspace settings (routing) survive a reputation change.
		await request("/v1/routing", { key: ws.key, method: "PUT", body: { mode: "gateway", strategy: "round_robin" } });
		await patch(ws.key, { complaint_warning: 0.0002 });
		expect(await json(await request("/v1/routing", { key: ws.key }))).toMatchObject({ strategy: "round_robin" });
	});

	it("refuses a warning threshold above its throttle threshold, out-of-range values and unknown fields", async () => {
		const ws = await createWorkspace();
		for (const body of [
			{ bounce_warning: 0.06 },
			{ complaint_warning: 0.01, complaint_throttle: 0.005 },
			{ bounce_throttle: 1.5 },
			{ throttle_per_minute: 0 },
			{ min_volume: 2.5 },
			{ bounce: 0.1 },
		]) {
			const res = await patch(ws.key, body);
			expect(res.status, JSON.stringify(body)).toBe(422);
			const e = await json<Envelope>(res);
			expect(e.error.code).toBe("validation_error");
			expect(e.error.request_id).toBeTruthy();
		}
		expect((await json<View>(await request("/v1/reputation", { key: ws.key }))).settings).toEqual(DEFAULT_REPUTATION);
		// The same field with a valid value is accepted.
		expect((await patch(ws.key, { bounce_warning: 0.03 })).status).toBe(200);
	});

	it("answers 400 for a body that is not JSON", async () => {
		const ws = await createWorkspace();
		const res = await request("/v1/reputation", {
			key: ws.key,
			method: "PATCH",
			rawBody: "{nope",
			headers: { "content-type": "application/json" },
		});
		expect(res.status).toBe(400);
		expect((await json<Envelope>(res)).error.code).toBe("invalid_json");
	});
});
