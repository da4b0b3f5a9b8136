// /v1/recipients: the addresses a workspace sends to (docs/recipients.md). Reading takes `email:read`;
// PUT takes `suppression:manage`, since a status it sets adds or lifts a suppression.
import { createRoute, z } from "@hono/zod-openapi";
import { API_STATUSES, changeRecipient, recipientOf, recipientsOf } from "../../domain/recipients/recipients";
import type { App } from "../context";
import { authed } from "../middleware/auth";
import { authErrors, bearerSecurity, bodyErrors, jsonContent, notFound } from "../schemas/common";
import { EmailParamSchema } from "../schemas/suppressions";

const RecipientSchema = z
	.object({
		email: z.string(),
		name: z.string().nullable(),
		status: z.enum(API_STATUSES),
		fields: z.record(z.string(), z.string()).openapi({ description: "Custom fields, for personalization." }),
		sent_count: z.number().int(),
		last_sent_at: z.string().nullable(),
		bounce_count: z.number().int(),
		last_bounce_at: z.string().nullable(),
		last_event_at: z.string().nullable(),
		created_at: z.string(),
		updated_at: z.string().nullable(),
	})
	.openapi("Recipient");

const RecipientDetailSchema = RecipientSchema.extend({
	suppression: z
		.object({ reason: z.string(), list: z.enum(["workspace", "platform"]), expires_at: z.string().nullable() })
		.nullable()
		.openapi({ description: "The entry that makes sends to this address skipped, if any." }),
	messages: z.array(
		z.object({
			message_id: z.string(),
			kind: z.string(),
			status: z.string(),
			subject: z.string(),
			last_error: z.string().nullable(),
			created_at: z.string(),
		}),
	),
	events: z.array(
		z.object({
			id: z.string(),
			message_id: z.string().nullable(),
			type: z.string(),
			data: z.record(z.string(), z.unknown()),
			created_at: z.string(),
		}),
	),
}).openapi("RecipientDetail");

const ListQuerySchema = z.object({
	limit: z.coerce
		.number()
		.int()
		.min(1)
		.max(100)
		.default(20)
		.openapi({ param: { name: "limit", in: "query" } }),
	cursor: z
		.string()
		.max(320)
		.optional()
		.openapi({ param: { name: "cursor", in: "query" }, description: "next_cursor of the previous page." }),
	status: z
		.enum(API_STATUSES)
		.optional()
		.openapi({ param: { name: "status", in: "query" } }),
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
});

const PutSchema = z
	.strictObject({
		status: z.enum(API_STATUSES).optional(),
		name: z.string().trim().max(200).nullable().optional(),
		fields: z
			.record(z.string().min(1).max(64), z.string().max(1000))
			.refine((f) => Object.keys(f).length <= 50, { message: "at most 50 fields" })
			.optional()
			.openapi({ description: "Replaces the custom fields." }),
	})
	.openapi("UpdateRecipient");

const read = authed("email:read");
const manage = authed("suppression:manage");
const TAGS = ["Recipients"];

export function registerRecipientRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/recipients",
			tags: TAGS,
			summary: "List recipients in address order",
			security: bearerSecurity,
			middleware: read,
			request: { query: ListQuerySchema },
			responses: {
				200: jsonContent(
					z.object({ data: z.array(RecipientSchema), has_more: z.boolean(), next_cursor: z.string().nullable() }),
					"A page of recipients",
				),
				...authErrors,
				...bodyErrors,
			},
		}),
		async (c) => {
			const q = c.req.valid("query");
			const filter = { status: q.status, prefix: q.email, domain: q.domain, afterEmail: q.cursor };
			return c.json(await recipientsOf(c.env.DB, c.var.principal.workspaceId, filter, q.limit), 200);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/recipients/{email}",
			tags: TAGS,
			summary: "Get a recipient with its history",
			description: "Its last 20 messages and last 50 events of those, newest first, and its suppression if any.",
			security: bearerSecurity,
			middleware: read,
			request: { params: EmailParamSchema },
			responses: {
				200: jsonContent(RecipientDetailSchema, "The recipient"),
				...authErrors,
				...bodyErrors,
				...notFound,
			},
		}),
		async (c) => {
			const found = await recipientOf(c.env.DB, c.var.principal.workspaceId, c.req.valid("param").email);
			if (!found.ok) throw found.error;
			return c.json(found.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "put",
			path: "/v1/recipients/{email}",
			tags: TAGS,
			summary: "Set a recipient's status, name or custom fields",
			description:
				"Creates the recipient if new. UNSUBSCRIBED, BOUNCED and COMPLAINED add the matching suppression (so sends to it are skipped); ACTIVE removes the workspace's entry; INACTIVE changes no suppression.",
			security: bearerSecurity,
			middleware: manage,
			request: {
				params: EmailParamSchema,
				body: { required: true, content: { "application/json": { schema: PutSchema } } },
			},
			responses: { 200: jsonContent(RecipientSchema, "The recipient"), ...authErrors, ...bodyErrors },
		}),
		async (c) => {
			const body = c.req.valid("json");
			const changed = await changeRecipient(c.env.DB, c.var.principal.workspaceId, c.req.valid("param").email, body);
			return c.json(changed, 200);
		},
	);
}
