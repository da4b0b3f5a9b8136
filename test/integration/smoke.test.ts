import { describe, expect, it } from "vitest";
import { call, email, json } from "../helpers/http";
import { createWorkspace } from "../helpers/workspace";

describe("smoke", () => {
	it("answers healthz and accepts an email", async () => {
		expect((await call("/healthz")).status).toBe(200);
		const ws = await createWorkspace();
		const res = await call("/v1/emails", { key: ws.key, body: email(ws.domain) });
		const body = await json(res);
		expect(res.status, JSON.stringify(body)).toBe(202);
		expect(body.status).toBe("queued");
	});
});
