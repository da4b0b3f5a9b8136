// The OpenAPI entries of the provider-compatible routes, under the "Compatibility" tag. These routes
// answer in the providers' own shapes, so they are documented here and served by plain Hono handlers
// rather than through zod-openapi's validators, which would answer in the /v1 envelope.
import { z } from "@hono/zod-openapi";
import type { App } from "../../context";

type DocRoute = {
	method: "get" | "post";
	path: string;
	summary: string;
	description: string;
	security: Record<string, string[]>[];
	body?: { type: string; schema: z.ZodType };
	params?: z.ZodObject;
	responses: Record<number, string>;
};

export function documentRoute(app: App, route: DocRoute): void {
	app.openAPIRegistry.registerPath({
		method: route.method,
		path: route.path,
		tags: ["Compatibility"],
		summary: route.summary,
		description: route.description,
		security: route.security,
		request: {
			...(route.params ? { params: route.params } : {}),
			...(route.body
				? { body: { required: true, content: { [route.body.type]: { schema: route.body.schema } } } }
				: {}),
		},
		responses: Object.fromEntries(
			Object.entries(route.responses).map(([status, description]) => [
				status,
				{ description, content: { "application/json": { schema: z.unknown() } } },
			]),
		),
	});
}

type SecurityScheme = Parameters<App["openAPIRegistry"]["registerComponent"]>[2];

export function registerSecurity(app: App, name: string, scheme: SecurityScheme): void {
	app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
}
