// The Worker: HTTP API, queue consumers, Email Worker, cron, and the Durable Object classes.

import type { Env } from "../src/env";
import { app } from "../src/http/app";
import { handleEmail } from "./email";
import { handleQueue } from "./queue";
import { handleScheduled } from "./scheduled";

export { GatewayBreaker } from "./durable-objects/gateway-breaker";
export { IdempotencyStore } from "./durable-objects/idempotency-store";
export { WorkspaceLimiter } from "./durable-objects/workspace-limiter";

export default {
	fetch: (request, env, ctx) => app.fetch(request, env, ctx),
	queue: (batch, env, _ctx) => handleQueue(batch, env),
	email: (message, env, _ctx) => handleEmail(message, env),
	scheduled: (controller, env, _ctx) => handleScheduled(controller, env),
} satisfies ExportedHandler<Env>;
