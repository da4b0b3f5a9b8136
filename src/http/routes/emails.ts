// /v1/emails: send one, send a batch, read one, list, and fetch captured MIME.

import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createDb } from "../../db/client";
import type { IdempotencyRequest, IdempotentOutcome } from "../../domain/idempotency";
import type { SendDeps } from "../../domain/messages/accept";
import { sendQueues } from "../../domain/messages/bands";
import { type ActionDeps, cancelEmail, retryEmail } from "../../domain/messages/cancel";
import { getEmail, getMessageRow, listEmails, type ReadDeps } from "../../domain/messages/read";
import { submitBatch, submitOne } from "../../domain/messages/submit";
import type { Sender } from "../../domain/messages/validate";
import { ApiError } from "../../errors";
import type { App, AppEnv } from "../context";
import { authed } from "../middleware/auth";
import {
	authErrors,
	bearerSecurity,
	bodyErrors,
	CursorQuerySchema,
	conflict,
	ErrorEnvelopeSchema,
	IdempotencyHeaderSchema,
	jsonContent,
	notFound,
	unavailable,
} from "../schemas/common";
import {
	AcceptedSchema,
	BatchRequestSchema,
	BatchResponseSchema,
	EmailIdParamSchema,
	EmailListQuerySchema,
	EmailListSchema,
	EmailSchema,
	SendEmailSchema,
} from "../schemas/emails";

const sendRoute = createRoute({
	method: "post",
	path: "/v1/emails",
	tags: ["Emails"],
	summary: "Send an email",
	description:
		"Answers 202 once the message is durable on the send queue. Delivery happens asynchronously; poll GET /v1/emails/{id} or subscribe to webhooks.",
	security: bearerSecurity,
	middleware: authed("email:send", { sends: true }),
	request: {
		headers: IdempotencyHeaderSchema,
		body: { required: true, content: { "application/json": { schema: SendEmailSchema } } },
	},
	responses: {
		202: jsonContent(AcceptedSchema, "Accepted and queued"),
		...authErrors,
		...bodyErrors,
		...conflict,
		...unavailable,
	},
});

const batchRoute = createRoute({
	method: "post",
	path: "/v1/emails/batch",
	tags: ["Emails"],
	summary: "Send up to 1,000 emails in one request",
	description:
		"Each item is validated and accepted on its own: the response lists, in order, an id or an error per item. 422 when no item is valid.",
	security: bearerSecurity,
	middleware: authed("email:send", { sends: true }),
	request: {
		headers: IdempotencyHeaderSchema,
		body: { required: true, content: { "application/json": { schema: BatchRequestSchema } } },
	},
	responses: {
		202: jsonContent(BatchResponseSchema, "At least one item was accepted"),
		...authErrors,
		...bodyErrors,
		...conflict,
		...unavailable,
	},
});

const getRoute = createRoute({
	method: "get",
	path: "/v1/emails/{id}",
	tags: ["Emails"],
	summary: "Get an email with its events",
	security: bearerSecurity,
	middleware: authed("email:read"),
	request: { params: EmailIdParamSchema },
	responses: { 200: jsonContent(EmailSchema, "The email"), ...authErrors, ...notFound },
});

const listRoute = createRoute({
	method: "get",
	path: "/v1/emails",
	tags: ["Emails"],
	summary: "List emails, newest first",
	security: bearerSecurity,
	middleware: authed("email:read"),
	request: { query: CursorQuerySchema.extend(EmailListQuerySchema.shape) },
	responses: { 200: jsonContent(EmailListSchema, "A page of emails"), ...authErrors, 422: bodyErrors[422] },
});

const contentRoute = createRoute({
	method: "get",
	path: "/v1/emails/{id}/content",
	tags: ["Emails"],
	summary: "Get the MIME message the sandbox gateway captured",
	security: bearerSecurity,
	middleware: authed("email:read"),
	request: { params: EmailIdParamSchema },
	responses: {
		200: { description: "RFC 5322 message", content: { "message/rfc822": { schema: z.string() } } },
		...authErrors,
		...notFound,
	},
});

const ActionSchema = z
	.object({ id: z.string(), status: z.enum(["cancelled", "deferred"]) })
	.openapi("EmailAction", { example: { id: "01J…", status: "cancelled" } });

const stateConflict = {
	409: jsonContent(ErrorEnvelopeSchema, "The email is not in a state this action takes; the message names its status"),
} as const;

const cancelRoute = createRoute({
	method: "post",
	path: "/v1/emails/{id}/cancel",
	tags: ["Emails"],
	summary: "Cancel an email that is queued, deferred or scheduled",
	description:
		"Also honoured for an id accepted but not yet materialized: the consumer will never send it. 409 with the current status otherwise (a message being delivered right now included).",
	security: bearerSecurity,
	middleware: authed("email:send"),
	request: { params: EmailIdParamSchema },
	responses: { 200: jsonContent(ActionSchema, "Cancelled"), ...authErrors, ...notFound, ...stateConflict },
});

const retryRoute = createRoute({
	method: "post",
	path: "/v1/emails/{id}/retry",
	tags: ["Emails"],
	summary: "Send a failed or rejected email again",
	description:
		"The email becomes `deferred`, due now, with a fresh retry budget; its failed and rejected recipients are tried again, sent ones are not. 409 with the current status otherwise.",
	security: bearerSecurity,
	middleware: authed("email:send"),
	request: { params: EmailIdParamSchema },
	responses: {
		200: jsonContent(ActionSchema, "Queued for a new attempt"),
		...authErrors,
		...notFound,
		...stateConflict,
	},
});

function actionDeps(c: Context<AppEnv>): ActionDeps {
	return {
		d1: c.env.DB,
		signingKey: c.var.config.SIGNING_KEY,
		events: { events: c.env.EVENTS_QUEUE, webhooks: c.env.WEBHOOKS_QUEUE },
		sendQueue: sendQueues(c.env),
		now: Date.now(),
	};
}

function sendDeps(c: Context<AppEnv>): SendDeps {
	return {
		signingKey: c.var.config.SIGNING_KEY,
		queue: sendQueues(c.env),
		bodies: c.env.BODIES,
		limits: c.var.limitGate,
	};
}

function readDeps(c: Context<AppEnv>): ReadDeps {
	return {
		db: createDb(c.env.DB),
		signingKey: c.var.config.SIGNING_KEY,
		now: Date.now(),
		bounceDomain: c.var.config.BOUNCE_DOMAIN,
	};
}

function senderOf(c: Context<AppEnv>): Sender {
	const p = c.var.principal;
	return {
		workspaceId: p.workspaceId,
		apiKeyId: p.keyId,
		sandbox: p.sandbox,
		verifiedDomains: p.verifiedDomains,
		verifiedParentDomains: p.verifiedParentDomains,
		unverifiedDomains: p.unverifiedDomains,
		queues: p.queues,
	};
}

/** The request's Idempotency-Key and what its fingerprint covers, or null without a key. */
function idempotencyOf(c: Context<AppEnv>): IdempotencyRequest | null {
	const key = c.req.header("idempotency-key");
	if (key === undefined) return null;
	return {
		store: c.env.IDEMPOTENCY,
		workspaceId: c.var.principal.workspaceId,
		key,
		method: c.req.method,
		path: new URL(c.req.url).pathname,
		body: c.var.rawBody,
	};
}

function replayHeaders(outcome: IdempotentOutcome): Record<string, string> {
	return outcome.replayed ? { "Idempotent-Replayed": "true" } : {};
}

export function registerEmailRoutes(app: App): void {
	app.openapi(sendRoute, async (c) => {
		const outcome = await submitOne(c.req.valid("json"), senderOf(c), sendDeps(c), idempotencyOf(c));
		if (!outcome.ok) throw outcome.error;
		return c.json(outcome.value.body as z.infer<typeof AcceptedSchema>, 202, replayHeaders(outcome.value));
	});

	app.openapi(batchRoute, async (c) => {
		const outcome = await submitBatch(c.req.valid("json"), senderOf(c), sendDeps(c), idempotencyOf(c));
		if (!outcome.ok) throw outcome.error;
		return c.json(outcome.value.body as z.infer<typeof BatchResponseSchema>, 202, replayHeaders(outcome.value));
	});

	app.openapi(getRoute, async (c) => {
		const email = await getEmail(readDeps(c), c.var.principal.workspaceId, c.req.valid("param").id);
		if (!email) throw new ApiError("not_found", "No email with this id in this workspace.");
		return c.json(email, 200);
	});

	app.openapi(listRoute, async (c) => {
		const q = c.req.valid("query");
		const page = await listEmails(
			readDeps(c),
			c.var.principal.workspaceId,
			{
				status: q.status,
				tag: q.tag,
				createdFrom: q.date_from ? Date.parse(q.date_from) : undefined,
				createdTo: q.date_to ? Date.parse(q.date_to) : undefined,
				beforeId: q.cursor,
			},
			q.limit,
		);
		return c.json(page, 200);
	});

	app.openapi(cancelRoute, async (c) => {
		const done = await cancelEmail(actionDeps(c), c.var.principal.workspaceId, c.req.valid("param").id);
		if (!done.ok) throw done.error;
		return c.json(done.value, 200);
	});

	app.openapi(retryRoute, async (c) => {
		const done = await retryEmail(actionDeps(c), c.var.principal.workspaceId, c.req.valid("param").id);
		if (!done.ok) throw done.error;
		return c.json(done.value, 200);
	});

	app.openapi(contentRoute, async (c) => {
		const row = await getMessageRow(readDeps(c), c.var.principal.workspaceId, c.req.valid("param").id);
		if (!row) throw new ApiError("not_found", "No email with this id in this workspace.");
		const object = row.mimeKey ? await c.env.BODIES.get(row.mimeKey) : null;
		if (!object) {
			throw new ApiError(
				"not_found",
				"No captured content for this email: only mail sent through the sandbox gateway is stored.",
			);
		}
		return c.body(await object.text(), 200, { "Content-Type": "message/rfc822" });
	});
}
