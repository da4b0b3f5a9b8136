// /v1/queues: named queues with priority, rate, retries and routing strategy; pause, resume, drain
// and stats. Scope `queue:manage`.

import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ROUTING_STRATEGIES } from "../../db/schema";
import { sendQueues } from "../../domain/messages/bands";
import {
	changeQueue,
	createQueue,
	drainQueue,
	pauseQueue,
	type QueueDeps,
	queueOf,
	queuesOf,
	removeQueue,
	resumeQueue,
	statsOf,
} from "../../domain/queues/queues";
import type { App, AppEnv } from "../context";
import { authed } from "../middleware/auth";
import {
	alreadyExists,
	authErrors,
	bearerSecurity,
	bodyErrors,
	ErrorEnvelopeSchema,
	IdParamSchema,
	jsonContent,
	notFound,
} from "../schemas/common";

const fields = {
	name: z
		.string()
		.regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits, _ . or -")
		.openapi({ example: "newsletters" }),
	priority: z
		.number()
		.int()
		.min(1)
		.max(10)
		.openapi({ description: "1 (lowest) to 10; higher is served first under contention." }),
	rate_per_minute: z
		.number()
		.int()
		.min(1)
		.max(1_000_000)
		.nullable()
		.openapi({ description: "A soft limit: mail over it waits." }),
	max_retries: z.number().int().min(0).max(20),
	retry_delays: z.array(z.number().int().min(0).max(86_400)).min(1).max(20),
	strategy: z.enum(ROUTING_STRATEGIES).nullable(),
};

const CreateSchema = z
	.strictObject({
		name: fields.name,
		priority: fields.priority.default(5),
		rate_per_minute: fields.rate_per_minute.default(null),
		max_retries: fields.max_retries.default(8),
		retry_delays: fields.retry_delays.default([0, 30, 120, 600, 3600]),
		strategy: fields.strategy.default(null),
	})
	.openapi("CreateQueueRequest");

const PatchSchema = z
	.strictObject({
		name: fields.name.optional(),
		priority: fields.priority.optional(),
		rate_per_minute: fields.rate_per_minute.optional(),
		max_retries: fields.max_retries.optional(),
		retry_delays: fields.retry_delays.optional(),
		strategy: fields.strategy.optional(),
	})
	.openapi("UpdateQueueRequest");

const QueueSchema = z
	.object({
		id: z.string(),
		name: z.string(),
		priority: z.number().int(),
		rate_per_minute: z.number().int().nullable(),
		max_retries: z.number().int(),
		retry_delays: z.array(z.number().int()),
		strategy: z.string().nullable(),
		paused: z.boolean(),
		created_at: z.string(),
		updated_at: z.string(),
	})
	.openapi("Queue");

const StatsSchema = z
	.object({
		queue_id: z.string(),
		paused: z.boolean(),
		queued: z.number().int(),
		processing: z.number().int(),
		deferred: z.number().int(),
		sent: z.number().int(),
		failed: z.number().int(),
		rejected: z.number().int(),
		cancelled: z.number().int(),
		suppressed: z.number().int().openapi({ description: "Messages whose every recipient was on a suppression list." }),
		oldest_age_seconds: z
			.number()
			.int()
			.nullable()
			.openapi({ description: "Age of the oldest message not yet final." }),
	})
	.openapi("QueueStats");

const manage = authed("queue:manage");
const tags = ["Queues"];
const byId = { params: IdParamSchema };

function deps(c: Context<AppEnv>): QueueDeps {
	return {
		db: c.env.DB,
		limiter: c.env.WORKSPACE_LIMITER,
		sendQueue: sendQueues(c.env),
		events: { events: c.env.EVENTS_QUEUE, webhooks: c.env.WEBHOOKS_QUEUE },
	};
}

export function registerQueueRoutes(app: App): void {
	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/queues",
			tags,
			summary: "Create a queue",
			security: bearerSecurity,
			middleware: manage,
			request: { body: { required: true, content: { "application/json": { schema: CreateSchema } } } },
			responses: { 201: jsonContent(QueueSchema, "The queue"), ...authErrors, ...bodyErrors, ...alreadyExists },
		}),
		async (c) => {
			const created = await createQueue(deps(c), c.var.principal.workspaceId, c.req.valid("json"));
			if (!created.ok) throw created.error;
			return c.json(created.value, 201);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/queues",
			tags,
			summary: "List the workspace's queues (always including `default`)",
			security: bearerSecurity,
			middleware: manage,
			responses: { 200: jsonContent(z.object({ data: z.array(QueueSchema) }), "The queues"), ...authErrors },
		}),
		async (c) => c.json({ data: await queuesOf(deps(c), c.var.principal.workspaceId) }, 200),
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/queues/{id}",
			tags,
			summary: "Get a queue",
			security: bearerSecurity,
			middleware: manage,
			request: byId,
			responses: { 200: jsonContent(QueueSchema, "The queue"), ...authErrors, ...notFound },
		}),
		async (c) => {
			const found = await queueOf(deps(c), c.var.principal.workspaceId, c.req.valid("param").id);
			if (!found.ok) throw found.error;
			return c.json(found.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "patch",
			path: "/v1/queues/{id}",
			tags,
			summary: "Change a queue",
			security: bearerSecurity,
			middleware: manage,
			request: { ...byId, body: { required: true, content: { "application/json": { schema: PatchSchema } } } },
			responses: {
				200: jsonContent(QueueSchema, "The queue"),
				...authErrors,
				...bodyErrors,
				...notFound,
				...alreadyExists,
			},
		}),
		async (c) => {
			const changed = await changeQueue(
				deps(c),
				c.var.principal.workspaceId,
				c.req.valid("param").id,
				c.req.valid("json"),
			);
			if (!changed.ok) throw changed.error;
			return c.json(changed.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "delete",
			path: "/v1/queues/{id}",
			tags,
			summary: "Delete an empty queue",
			security: bearerSecurity,
			middleware: manage,
			request: byId,
			responses: {
				204: { description: "Deleted" },
				...authErrors,
				...notFound,
				409: jsonContent(ErrorEnvelopeSchema, "The queue is `default` or still has mail"),
			},
		}),
		async (c) => {
			const removed = await removeQueue(deps(c), c.var.principal.workspaceId, c.req.valid("param").id);
			if (!removed.ok) throw removed.error;
			return c.body(null, 204);
		},
	);

	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/queues/{id}/pause",
			tags,
			summary: "Pause a queue: it still accepts mail and holds it",
			security: bearerSecurity,
			middleware: manage,
			request: byId,
			responses: { 200: jsonContent(QueueSchema, "The paused queue"), ...authErrors, ...notFound },
		}),
		async (c) => {
			const paused = await pauseQueue(deps(c), c.var.principal.workspaceId, c.req.valid("param").id);
			if (!paused.ok) throw paused.error;
			return c.json(paused.value, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/queues/{id}/resume",
			tags,
			summary: "Resume a queue and release everything it held",
			security: bearerSecurity,
			middleware: manage,
			request: byId,
			responses: {
				200: jsonContent(
					QueueSchema.extend({ released: z.number().int().openapi({ description: "Messages re-enqueued now" }) }),
					"The resumed queue",
				),
				...authErrors,
				...notFound,
			},
		}),
		async (c) => {
			const resumed = await resumeQueue(deps(c), c.var.principal.workspaceId, c.req.valid("param").id);
			if (!resumed.ok) throw resumed.error;
			return c.json({ ...resumed.value.queue, released: resumed.value.released }, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "post",
			path: "/v1/queues/{id}/drain",
			tags,
			summary: "Cancel every message waiting in the queue",
			description: "Messages a consumer is delivering right now are not cancelled.",
			security: bearerSecurity,
			middleware: manage,
			request: byId,
			responses: {
				200: jsonContent(z.object({ queue_id: z.string(), cancelled: z.number().int() }), "How many were cancelled"),
				...authErrors,
				...notFound,
			},
		}),
		async (c) => {
			const id = c.req.valid("param").id;
			const drained = await drainQueue(deps(c), c.var.principal.workspaceId, id);
			if (!drained.ok) throw drained.error;
			return c.json({ queue_id: id, cancelled: drained.value }, 200);
		},
	);

	app.openapi(
		createRoute({
			method: "get",
			path: "/v1/queues/{id}/stats",
			tags,
			summary: "Counts by status and the age of the oldest waiting message",
			security: bearerSecurity,
			middleware: manage,
			request: byId,
			responses: { 200: jsonContent(StatsSchema, "The queue's numbers"), ...authErrors, ...notFound },
		}),
		async (c) => {
			const stats = await statsOf(deps(c), c.var.principal.workspaceId, c.req.valid("param").id);
			if (!stats.ok) throw stats.error;
			return c.json(stats.value, 200);
		},
	);
}
