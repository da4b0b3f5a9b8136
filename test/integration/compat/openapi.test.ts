// The compat routes are in the OpenAPI document, under the "Compatibility" tag, with their own
// security schemes.
import { describe, expect, it } from "vitest";
import { json, request } from "../../helpers/worker";

type Doc = {
	paths: Record<string, Record<string, { tags?: string[] }>>;
	components: { securitySchemes: Record<string, unknown> };
};

describe("OpenAPI document: compat routes", () => {
	it("lists every provider route under Compatibility", async () => {
		const doc = await json<Doc>(await request("/openapi.json"));
		const routes: [string, string][] = [
			["/emails", "post"],
			["/emails/batch", "post"],
			["/emails/{id}", "get"],
			["/email", "post"],
			["/email/batch", "post"],
			["/v3/mail/send", "post"],
			["/v3/{domain}/messages", "post"],
			["/api/1.0/messages/send.json", "post"],
		];
		for (const [path, method] of routes) expect(doc.paths[path]?.[method]?.tags).toEqual(["Compatibility"]);
		expect(Object.keys(doc.components.securitySchemes)).toEqual(
			expect.arrayContaining(["bearerAuth", "postmarkServerToken", "mailgunBasic"]),
		);
	});
});
