// Schemas of the suppression lists' routes, shared by the workspace's (/v1/suppressions) and the
// platform's (/v1/platform/suppressions).
import { z } from "@hono/zod-openapi";
import { SUPPRESSION_REASONS } from "../../db/schema";
import { MAX_SUPPRESSIONS_PER_REQUEST } from "../../domain/suppressions/list";
import { isEmail } from "../../lib/address";
import { CursorQuerySchema } from "./common";

const email = z
	.string()
	.trim()
	.max(320)
	.refine(isEmail, { message: "is not a valid email address" })
	.openapi({ example: "gone@example.test" });

const future = z.iso
	.datetime({ offset: true })
	.refine((v) => Date.parse(v) > Date.now(), { message: "must be in the future" })
	.nullable()
	.optional();

export const SuppressionEntrySchema = z
	.strictObject({
		email,
		reason: z.enum(SUPPRESSION_REASONS).default("manual"),
		expires_at: future.openapi({ description: "After this the entry no longer suppresses; absent: permanent." }),
	})
	.openapi("SuppressionEntry");

export const AddSuppressionsSchema = z
	.union([
		SuppressionEntrySchema,
		z.strictObject({ suppressions: z.array(SuppressionEntrySchema).min(1).max(MAX_SUPPRESSIONS_PER_REQUEST) }),
	])
	.openapi("AddSuppressions", {
		description: `One entry, or \`{"suppressions": [...]}\` of up to ${MAX_SUPPRESSIONS_PER_REQUEST}.`,
	});

export const SuppressionSchema = z
	.object({
		id: z.string(),
		email: z.string(),
		reason: z.enum(SUPPRESSION_REASONS),
		source_message_id: z.string().nullable(),
		expires_at: z.string().nullable(),
		active: z.boolean().openapi({ description: "False once expires_at has passed: the entry no longer suppresses." }),
		created_at: z.string(),
	})
	.openapi("Suppression");

export const SuppressionListSchema = z
	.object({ data: z.array(SuppressionSchema), has_more: z.boolean(), next_cursor: z.string().nullable() })
	.openapi("SuppressionList");

export const SuppressionListQuerySchema = CursorQuerySchema.extend({
	reason: z
		.enum(SUPPRESSION_REASONS)
		.optional()
		.openapi({ param: { name: "reason", in: "query" } }),
	email: z
		.string()
		.max(320)
		.optional()
		.openapi({ param: { name: "email", in: "query" }, description: "Addresses starting with this" }),
	domain: z
		.string()
		.max(253)
		.optional()
		.openapi({ param: { name: "domain", in: "query" }, description: "Addresses at exactly this domain" }),
	created_from: z.iso
		.datetime({ offset: true })
		.optional()
		.openapi({ param: { name: "created_from", in: "query" }, description: "Added at or after (ISO 8601)" }),
	created_to: z.iso
		.datetime({ offset: true })
		.optional()
		.openapi({ param: { name: "created_to", in: "query" }, description: "Added before (ISO 8601)" }),
});

export const EmailParamSchema = z.object({
	email: email.openapi({ param: { name: "email", in: "path" } }),
});

/** The body's entries as the domain takes them. */
export function entriesOf(body: z.infer<typeof AddSuppressionsSchema>) {
	const list = "suppressions" in body ? body.suppressions : [body];
	return list.map((e) => ({
		email: e.email,
		reason: e.reason,
		expiresAt: e.expires_at ? Date.parse(e.expires_at) : null,
	}));
}

export function filterOf(q: z.infer<typeof SuppressionListQuerySchema>) {
	return {
		reason: q.reason,
		prefix: q.email,
		domain: q.domain,
		createdFrom: q.created_from ? Date.parse(q.created_from) : undefined,
		createdTo: q.created_to ? Date.parse(q.created_to) : undefined,
		beforeId: q.cursor,
	};
}
