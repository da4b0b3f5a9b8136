// The OpenAPI document still describes the send request in full although its schema now lives in
// the domain, and documents the workspace routes.
import { describe, expect, it } from "vitest";
import { json, request } from "../helpers/worker";

type Schema = { type?: string; properties?: Record<string, { description?: string }>; example?: unknown };
type Doc = { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, Schema> } };

describe("OpenAPI document", () => {
	it("describes SendEmailRequest from the domain schema, with its fields, descriptions and example", async () => {
		const doc = await json<Doc>(await request("/openapi.json"));
		const send = doc.components.schemas.SendEmailRequest;
		expect(send?.type).toBe("object");
		expect(Object.keys(send?.properties ?? {}).sort()).toEqual(
			[
				"attachments",
				"bcc",
				"cc",
				"from",
				"headers",
				"html",
				"metadata",
				"queue",
				"reply_to",
				"subject",
				"tags",
				"text",
				"to",
			].sort(),
		);
		expect(send?.properties?.from?.description).toMatch(/verified domain/);
		expect(send?.properties?.headers?.description).toMatch(/X-\*/);
		expect(send?.example).toMatchObject({ subject: "Hi" });
		expect(doc.paths["/v1/workspace"]).toHaveProperty("get");
		expect(doc.paths["/v1/workspace"]).toHaveProperty("patch");
	});
});
