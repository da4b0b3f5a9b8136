// The HTTP application: middleware order, routes, the OpenAPI document and its rendered docs.
import { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { App, AppEnv } from "./context";
import { notFound, onError, validationHook } from "./middleware/errors";
import { requestContext } from "./middleware/request-id";
import { registerApiKeyRoutes } from "./routes/api-keys";
import { registerCompatRoutes } from "./routes/compat";
import { registerDomainRoutes } from "./routes/domains";
import { registerEmailRoutes } from "./routes/emails";
import { registerGatewayRoutes } from "./routes/gateways";
import { registerHealthRoutes } from "./routes/health";
import { registerInboundAttachmentRoutes } from "./routes/inbound-attachments";
import { registerInboundClassifyRoutes } from "./routes/inbound-classify";
import { registerInboundRouteRoutes } from "./routes/inbound-routes";
import { registerPlatformRoutes } from "./routes/platform";
import { registerPlatformSuppressionRoutes } from "./routes/platform-suppressions";
import { registerProviderWebhookRoutes } from "./routes/provider-webhooks";
import { registerQueueRoutes } from "./routes/queues";
import { registerRateLimitRoutes } from "./routes/rate-limits";
import { registerRecipientRoutes } from "./routes/recipients";
import { registerReputationRoutes } from "./routes/reputation";
import { registerRoutingRoutes } from "./routes/routing";
import { registerSmtpRoutes } from "./routes/smtp";
import { registerSmtpCredentialRoutes } from "./routes/smtp-credentials";
import { registerSmtpInboundRoutes } from "./routes/smtp-inbound";
import { registerSuppressionRoutes } from "./routes/suppressions";
import { registerWorkspaceRoutes } from "./routes/workspace";

export function createApp(): App {
	const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
	app.use("*", requestContext);
	// Bodies are read per route, after authentication (middleware/auth.ts `authed`); a route without
	// a key that takes a body adds limitBody and jsonBody itself.

	registerHealthRoutes(app);
	registerEmailRoutes(app);
	registerApiKeyRoutes(app);
	registerDomainRoutes(app);
	registerGatewayRoutes(app);
	registerWorkspaceRoutes(app);
	registerCompatRoutes(app);
	registerPlatformRoutes(app);
	registerRateLimitRoutes(app);
	registerQueueRoutes(app);
	registerSmtpRoutes(app);
	registerSmtpCredentialRoutes(app);
	registerRoutingRoutes(app);
	registerReputationRoutes(app);
	registerProviderWebhookRoutes(app);
	registerSuppressionRoutes(app);
	registerPlatformSuppressionRoutes(app);
	registerRecipientRoutes(app);
	registerInboundClassifyRoutes(app);
	registerInboundRouteRoutes(app);
	registerInboundAttachmentRoutes(app);
	registerSmtpInboundRoutes(app);

	app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
		type: "http",
		scheme: "bearer",
		description: "An API key: `mq_live_…` or `mq_test_…`.",
	});
	app.doc31("/openapi.json", {
		openapi: "3.1.0",
		info: {
			title: "Mail Queue API",
			version: "1.0.0",
			description:
				"Transactional email relay. Errors always use the envelope `{ error: { code, message, request_id } }`.",
		},
	});
	app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "Mail Queue API" }));

	app.notFound(notFound);
	app.onError(onError);
	return app;
}

export const app = createApp();
