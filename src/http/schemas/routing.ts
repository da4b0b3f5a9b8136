// Schemas shared by the routing routes and the gateway routes' routing fields.
import { z } from "@hono/zod-openapi";
import { PATTERN } from "../../domain/routing/patterns";

/** An address or domain pattern (`*@gmail.com`, `*.example.com`): see domain/routing/patterns.ts. */
export const PatternSchema = z
	.string()
	.regex(PATTERN, "must be 1-320 address characters, with * as a wildcard")
	.openapi({ example: "*@gmail.com" });

export const PatternListSchema = z.array(PatternSchema).max(100);

/** Gateway ids of the caller's workspace, no repeats (the domain checks ownership: 422 otherwise). */
export const GatewayIdsSchema = z
	.array(z.string().min(1).max(64))
	.max(50)
	.refine((ids) => new Set(ids).size === ids.length, "must not repeat a gateway id");
