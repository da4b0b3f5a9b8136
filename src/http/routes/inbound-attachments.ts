// GET /v1/inbound/attachments/{token}: an attachment of stored inbound mail, by the signed link an
// inbound webhook carried. The link is the credential (HMAC, 24 h expiry); no API key is asked.
import { createRoute, z } from "@hono/zod-openapi";
import { readInboundAttachment } from "../../domain/inbound/attachments";
import { ApiError } from "../../errors";
import type { App } from "../context";
import { ErrorEnvelopeSchema, jsonContent, notFound } from "../schemas/common";

const TokenParamSchema = z.object({
	token: z
		.string()
		.max(200)
		.openapi({ param: { name: "token", in: "path" } }),
});

/** A filename safe inside a quoted Content-Disposition parameter. */
const safeName = (name: string | null) => (name ?? "attachment").replace(/[^\w.\- ]/g, "_").slice(0, 200);

export function registerInboundAttachmentRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/inbound/attachments/{token}",
			tags: ["Inbound"],
			summary: "Download an attachment of received mail by its signed link",
			request: { params: TokenParamSchema },
			responses: {
				200: { description: "The attachment's bytes", content: { "application/octet-stream": { schema: z.any() } } },
				...notFound,
				410: jsonContent(ErrorEnvelopeSchema, "The link has expired"),
			},
		}),
		async (c) => {
			const answer = await readInboundAttachment(
				{ db: c.env.DB, bodies: c.env.BODIES, signingKey: c.var.config.SIGNING_KEY, now: Date.now() },
				c.req.valid("param").token,
			);
			if (!answer.ok) {
				if (answer.problem === "expired") throw new ApiError("link_expired", "This download link has expired.");
				throw new ApiError("not_found", "No attachment for this link.");
			}
			const { file } = answer;
			return c.body(file.bytes, 200, {
				"content-type": file.contentType,
				"content-disposition": `attachment; filename="${safeName(file.filename)}"`,
				"cache-control": "private, no-store",
				"x-content-type-options": "nosniff",
			});
		},
	);
}
