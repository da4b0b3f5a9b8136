// Gives every request an id, echoed in `X-Request-Id` and in every error envelope, and validates the
// Worker's configuration once per isolate before any route runs.
import { createMiddleware } from "hono/factory";
import { loadConfig } from "../../env";
import type { AppEnv } from "../context";

export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
	const incoming = c.req.header("x-request-id");
	const requestId =
		incoming && /^[\w.-]{8,128}$/.test(incoming) ? incoming : `req_${crypto.randomUUID().replaceAll("-", "")}`;
	c.set("requestId", requestId);
	c.set("config", loadConfig(c.env));
	await next();
	c.header("X-Request-Id", requestId);
});
