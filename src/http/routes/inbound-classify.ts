// POST /v1/inbound/classify: the inbound classifier (src/domain/inbound/classify.ts) as a service for
// support staff and tests. Body: one raw message (message/rfc822); answer: what it is and, per
// recipient, action, status, reason, hard and diagnostic. Reads nothing and stores nothing. Scope `email:read`.
import { createRoute, z } from "@hono/zod-openapi";
import { BOUNCE_REASONS } from "../../domain/feedback/model";
import { classify } from "../../domain/inbound/classify";
import { INBOUND_KINDS } from "../../domain/inbound/model";
import { ApiError } from "../../errors";
import type { App } from "../context";
import { requireScope } from "../middleware/auth";
import { limitBody } from "../middleware/json-body";
import { rateLimit } from "../middleware/rate-limit";
import { authErrors, bearerSecurity, bodyErrors, jsonContent } from "../schemas/common";

/** What a raw message may be sent as; curl's `--data-binary` default is tolerated too. */
const MESSAGE_TYPES = new Set([
	"",
	"message/rfc822",
	"message/global",
	"text/plain",
	"application/octet-stream",
	"application/x-www-form-urlencoded",
]);

const ClassifiedRecipientSchema = z.object({
	recipient: z.string().openapi({ example: "kijitora@example.jp" }),
	action: z.string().openapi({ description: "RFC 3464 Action: `failed`, `delayed`, or `complained` for a complaint" }),
	status: z.string().nullable().openapi({ example: "5.1.1", description: "Enhanced status code (RFC 3463)" }),
	reason: z.enum(BOUNCE_REASONS),
	hard: z
		.boolean()
		.openapi({ description: "True only when the recipient failed and the reason says the address is dead" }),
	diagnostic: z.string().nullable().openapi({ description: "The remote MTA's words, as given" }),
});

const ClassificationSchema = z
	.object({
		kind: z.enum(INBOUND_KINDS),
		recipients: z.array(ClassifiedRecipientSchema),
		original_message_id: z.string().nullable(),
		original_queue_id: z
			.string()
			.nullable()
			.openapi({ description: "Our X-Mail-Queue-Id of the original message, when the report quotes it" }),
		feedback_type: z.string().nullable().openapi({ description: "ARF Feedback-Type of a complaint" }),
	})
	.openapi("InboundClassification");

const classifyRoute = createRoute({
	method: "post",
	path: "/v1/inbound/classify",
	tags: ["Inbound"],
	summary: "Classify a bounce, complaint or auto-reply",
	description:
		"Classifies one raw message the way the Email Worker does for mail to a bounce address: RFC 3464 DSNs, the common non-standard bounce forms, RFC 5965 feedback reports (`complaint`) and RFC 3834 auto-replies (`auto_reply`, not a bounce). Nothing is stored or changed.",
	security: bearerSecurity,
	middleware: [requireScope("email:read"), rateLimit(false), limitBody],
	request: {
		body: {
			required: true,
			content: { "message/rfc822": { schema: z.string().openapi({ format: "binary" }) } },
		},
	},
	responses: { 200: jsonContent(ClassificationSchema, "The classification"), ...authErrors, ...bodyErrors },
});

export function registerInboundClassifyRoutes(app: App): void {
	app.openapi(classifyRoute, async (c) => {
		const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
		if (!MESSAGE_TYPES.has(mediaType)) {
			throw new ApiError(
				"unsupported_media_type",
				`Content-Type ${mediaType} is not supported; send the raw message as message/rfc822.`,
			);
		}
		const raw = new Uint8Array(await c.req.arrayBuffer());
		if (raw.byteLength === 0) {
			throw new ApiError("validation_error", "The body is empty; send the raw message as message/rfc822.");
		}
		const result = await classify(raw);
		return c.json(
			{
				kind: result.kind,
				recipients: result.recipients,
				original_message_id: result.originalMessageId ?? null,
				original_queue_id: result.originalQueueId ?? null,
				feedback_type: result.feedbackType ?? null,
			},
			200,
		);
	});
}
