// POST /v1/providers/{type}/webhook/{gatewayId}: provider event webhooks (docs/provider-webhooks.md).
// No API key: the provider's own signature (or, for Postmark, basic auth) is the authentication, and
// the gateway id names the workspace's gateway whose credentials hold the webhook secret.
import { createRoute, z } from "@hono/zod-openapi";
import { createDb } from "../../db/client";
import { recordFeedback } from "../../domain/feedback/record";
import { receiveProviderWebhook, WEBHOOK_PROVIDERS } from "../../domain/provider-events/receive";
import type { App } from "../context";
import { limitBody } from "../middleware/json-body";
import { ErrorEnvelopeSchema, jsonContent, unavailable } from "../schemas/common";

const ParamsSchema = z.object({
	type: z.enum(WEBHOOK_PROVIDERS).openapi({ param: { name: "type", in: "path" }, example: "mailgun" }),
	gatewayId: z
		.string()
		.min(1)
		.max(64)
		.openapi({ param: { name: "gatewayId", in: "path" }, example: "gw_01jh0000000000000000000000" }),
});

const ReceivedSchema = z
	.object({
		received: z.number().int().openapi({ description: "Events in the request that we follow" }),
		recorded: z.number().int().openapi({ description: "Of those, how many were new (a replay records 0)" }),
		subscription_confirmed: z.boolean().optional().openapi({ description: "SES: the SNS subscription was confirmed" }),
	})
	.openapi("ProviderWebhookReceived");

const error = (description: string) => jsonContent(ErrorEnvelopeSchema, description);

const route = createRoute({
	method: "post",
	path: "/v1/providers/{type}/webhook/{gatewayId}",
	tags: ["Provider webhooks"],
	summary: "Receive a provider's delivery events",
	description:
		"Paste this URL into the provider's webhook settings. Mailgun (HMAC signature, stale timestamps and reused tokens refused), SendGrid (signed event webhook, ECDSA), SES through SNS (signature checked against an sns.<region>.amazonaws.com certificate; subscriptions confirmed), Postmark (basic auth) and Resend (Svix signature). The body is the provider's own, unchanged. Answers 200 once the events are recorded; a bad signature is 401 and records nothing.",
	middleware: [limitBody],
	request: { params: ParamsSchema },
	responses: {
		200: jsonContent(ReceivedSchema, "Verified and recorded"),
		400: error("The verified body is not JSON"),
		401: error("The signature, token or credentials do not verify, or the gateway has no webhook secret"),
		404: error("No gateway of this type with this id"),
		413: error("The body is larger than the configured limit"),
		422: error("The verified body is not the provider's event shape"),
		...unavailable,
	},
});

export function registerProviderWebhookRoutes(app: App): void {
	app.openapi(route, async (c) => {
		const { type, gatewayId } = c.req.valid("param");
		const queues = { events: c.env.EVENTS_QUEUE, webhooks: c.env.WEBHOOKS_QUEUE };
		const result = await receiveProviderWebhook(
			{
				db: createDb(c.env.DB),
				encryptionKey: c.var.config.ENCRYPTION_KEY,
				fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init),
				record: (items) => recordFeedback({ db: c.env.DB, queues }, items),
			},
			{ type, gatewayId, headers: c.req.raw.headers, body: await c.req.text() },
		);
		if (!result.ok) throw result.error;
		return c.json(result.value, 200);
	});
}
