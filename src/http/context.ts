// The Hono environment every route shares: bindings plus per-request variables.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Principal } from "../domain/auth/principal";
import type { LimitGate } from "../domain/rate-limits/gate";
import type { Config, Env } from "../env";

export type AppEnv = {
	Bindings: Env;
	Variables: {
		requestId: string;
		config: Config;
		principal: Principal;
		/** The request body as received, once jsonBody has read it (for idempotency fingerprints). */
		rawBody: string;
		/** The request's one rate-limit call (middleware/rate-limit.ts). */
		limitGate: LimitGate;
	};
};

export type App = OpenAPIHono<AppEnv>;
