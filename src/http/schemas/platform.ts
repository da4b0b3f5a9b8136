// Request and response schemas of /v1/platform/*.
import { z } from "@hono/zod-openapi";
import { API_KEY_SCOPES } from "../../db/schema";
import { ErrorEnvelopeSchema, jsonContent } from "./common";

export const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const limit = z.number().int().min(0).max(1_000_000_000).nullable();

const LimitsSchema = z
	.object({
		daily: limit.openapi({ description: "Messages per UTC day for the whole workspace; null: no platform cap." }),
		monthly: limit.openapi({ description: "Messages per calendar month (UTC)." }),
		per_sender_daily: limit.openapi({ description: "Messages per UTC day for one sender of the workspace." }),
	})
	.openapi("PlatformLimits");

const LimitsInputSchema = z.strictObject({
	daily: limit.optional(),
	monthly: limit.optional(),
	per_sender_daily: limit.optional(),
});

export const PlatformWorkspaceSchema = z
	.object({
		id: z.string(),
		slug: z.string(),
		name: z.string(),
		status: z.enum(["active", "suspended", "deleting"]).openapi({
			description: "suspended: keys answer 403 workspace_suspended and mail is held; deleting: being purged.",
		}),
		sandbox_mode: z.boolean(),
		limits: LimitsSchema,
		deletion: z
			.object({
				requested_at: z.string(),
				purge_starts_at: z.string(),
				rows_deleted: z.number().int(),
				objects_deleted: z.number().int(),
				runs: z.number().int(),
				last_run_at: z.string().nullable(),
			})
			.nullable()
			.openapi({
				description: "Progress of the purge, once deletion was requested; the workspace then 404s when done.",
			}),
		created_at: z.string(),
		updated_at: z.string(),
	})
	.openapi("PlatformWorkspace");

export const PlatformKeySchema = z
	.object({
		id: z.string(),
		name: z.string(),
		prefix: z.string(),
		mode: z.enum(["live", "test"]),
		scopes: z.array(z.enum(API_KEY_SCOPES)),
		ip_allowlist: z.array(z.string()),
		expires_at: z.string().nullable(),
		last_used_at: z.string().nullable(),
		created_at: z.string(),
		key: z.string().openapi({ description: "The secret, shown only in this response." }),
	})
	.openapi("PlatformCreatedKey");

export const CreateWorkspaceSchema = z
	.strictObject({
		slug: z
			.string()
			.regex(SLUG, "must be 1–63 lowercase letters, digits or hyphens, not starting or ending with a hyphen")
			.openapi({ example: "acme" }),
		name: z.string().trim().min(1).max(100).optional().openapi({ description: "Defaults to the slug." }),
		sandbox_mode: z.boolean().default(false),
		limits: LimitsInputSchema.default({}),
	})
	.openapi("CreatePlatformWorkspaceRequest");

export const CreatedWorkspaceSchema = z
	.object({ workspace: PlatformWorkspaceSchema, api_key: PlatformKeySchema })
	.openapi("CreatedPlatformWorkspace");

export const UpdateWorkspaceSchema = z
	.strictObject({
		name: z.string().trim().min(1).max(100).optional(),
		sandbox_mode: z.boolean().optional(),
		suspended: z.boolean().optional().openapi({ description: "true suspends the workspace, false resumes it." }),
		limits: LimitsInputSchema.optional(),
	})
	.openapi("UpdatePlatformWorkspaceRequest");

export const CreateKeySchema = z
	.strictObject({
		name: z.string().trim().min(1).max(100).default("Admin key (created by the platform)"),
		mode: z.enum(["live", "test"]).default("live"),
		scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).default(["admin"]),
	})
	.openapi("CreatePlatformKeyRequest");

export const ListQuerySchema = z.object({
	status: z
		.enum(["active", "suspended", "deleting"])
		.optional()
		.openapi({ param: { name: "status", in: "query" } }),
	q: z
		.string()
		.max(100)
		.optional()
		.openapi({ param: { name: "q", in: "query" }, description: "Prefix of the slug or the name." }),
	limit: z.coerce
		.number()
		.int()
		.min(1)
		.max(100)
		.default(20)
		.openapi({ param: { name: "limit", in: "query" } }),
	cursor: z
		.string()
		.max(64)
		.optional()
		.openapi({ param: { name: "cursor", in: "query" }, description: "next_cursor of the previous page." }),
});

export const WorkspaceRefSchema = z.object({
	id: z
		.string()
		.max(64)
		.openapi({ param: { name: "id", in: "path" }, description: "The workspace's id or its slug." }),
});

const error = (description: string) => jsonContent(ErrorEnvelopeSchema, description);

export const platformErrors = {
	401: error("Missing or wrong platform token"),
	403: error("A workspace API key was presented: the platform API takes only the PLATFORM_TOKEN"),
	503: error("The platform API is disabled: PLATFORM_TOKEN is not set, or malformed (platform_not_configured)"),
} as const;

export const platformSecurity = [{ platformToken: [] }];
