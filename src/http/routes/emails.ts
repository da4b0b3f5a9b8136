// /v1/emails: send one, send a batch, read one, list, and fetch captured MIME.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createDb } from "../../db/client";
import { type IdempotentOutcome, type StoredResponse, withIdempotency } from "../../domain/idempotency";
import {
	checkSender,
	enqueueMany,
	enqueueOne,
	normalize,
	prepareJob,
	type SendDeps,
	type Sender,
} from "../../domain/messages/accept";
import { getEmail, getMessageRow, listEmails, type ReadDeps } from "../../domain/messages/read";
import { ApiError } from "../../errors";
import type { App, AppEnv } from "../context";
import { requireScope } from "../middleware/auth";
import { validationError } from "../middleware/errors";
import {
	authErrors,
	bearerSecurity,
	bodyErrors,
	CursorQuerySchema,
	conflict,
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
	middleware: requireScope("email:send"),
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
	middleware: requireScope("email:send"),
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
	middleware: requireScope("email:read"),
	request: { params: EmailIdParamSchema },
	responses: { 200: jsonContent(EmailSchema, "The email"), ...authErrors, ...notFound },
});

const listRoute = createRoute({
	method: "get",
	path: "/v1/emails",
	tags: ["Emails"],
	summary: "List emails, newest first",
	security: bearerSecurity,
	middleware: requireScope("email:read"),
	request: { query: CursorQuerySchema.extend(EmailListQuerySchema.shape) },
	responses: { 200: jsonContent(EmailListSchema, "A page of emails"), ...authErrors, 422: bodyErrors[422] },
});

const contentRoute = createRoute({
	method: "get",
	path: "/v1/emails/{id}/content",
	tags: ["Emails"],
	summary: "Get the MIME message the sandbox gateway captured",
	security: bearerSecurity,
	middleware: requireScope("email:read"),
	request: { params: EmailIdParamSchema },
	responses: {
		200: { description: "RFC 5322 message", content: { "message/rfc822": { schema: z.string() } } },
		...authErrors,
		...notFound,
	},
});

function sendDeps(c: Context<AppEnv>): SendDeps {
	return { signingKey: c.var.config.SIGNING_KEY, queue: c.env.SEND_QUEUE, bodies: c.env.BODIES };
}

function readDeps(c: Context<AppEnv>): ReadDeps {
	return { db: createDb(c.env.DB), signingKey: c.var.config.SIGNING_KEY, now: Date.now() };
}

function senderOf(c: Context<AppEnv>): Sender {
	const p = c.var.principal;
	return { workspaceId: p.workspaceId, apiKeyId: p.keyId, sandbox: p.sandbox, verifiedDomains: p.verifiedDomains };
}

/** Runs a write once per Idempotency-Key when the request carries one. */
async function idempotent(c: Context<AppEnv>, run: () => Promise<StoredResponse>): Promise<IdempotentOutcome> {
	const key = c.req.header("idempotency-key");
	if (key === undefined) return { ...(await run()), replayed: false };
	const path = new URL(c.req.url).pathname;
	return withIdempotency(
		c.env.IDEMPOTENCY,
		c.var.principal.workspaceId,
		key,
		{ method: c.req.method, path, body: c.var.rawBody },
		run,
	);
}

function replayHeaders(outcome: IdempotentOutcome): Record<string, string> {
	return outcome.replayed ? { "Idempotent-Replayed": "true" } : {};
}

const UNAVAILABLE = "The send queue is unavailable; nothing was accepted. Retry with the same Idempotency-Key.";

export function registerEmailRoutes(app: App): void {
	app.openapi(sendRoute, async (c) => {
		const message = normalize(c.req.valid("json"));
		const sender = senderOf(c);
		const allowed = checkSender(message, sender);
		if (!allowed.ok) throw allowed.error;
		const deps = sendDeps(c);
		const outcome = await idempotent(c, async () => {
			try {
				const prepared = await prepareJob(message, sender, deps);
				await enqueueOne(prepared, deps);
				return { status: 202, body: { id: prepared.job.id, status: "queued" } };
			} catch (error) {
				console.error("enqueue failed", { error: String(error) });
				throw new ApiError("service_unavailable", UNAVAILABLE);
			}
		});
		return c.json(outcome.body as z.infer<typeof AcceptedSchema>, 202, replayHeaders(outcome));
	});

	app.openapi(batchRoute, async (c) => {
		const items = c.req.valid("json");
		const sender = senderOf(c);
		type Result = z.infer<typeof BatchResponseSchema>["data"][number];
		const results: Result[] = new Array(items.length);
		const valid: { index: number; message: ReturnType<typeof normalize> }[] = [];
		items.forEach((item, index) => {
			const parsed = SendEmailSchema.safeParse(item);
			if (!parsed.success) {
				const error = validationError(parsed.error.issues);
				results[index] = { index, error: { code: error.code, message: error.message } };
				return;
			}
			const message = normalize(parsed.data);
			const allowed = checkSender(message, sender);
			if (!allowed.ok) results[index] = { index, error: { code: allowed.error.code, message: allowed.error.message } };
			else valid.push({ index, message });
		});
		if (valid.length === 0) {
			throw new ApiError(
				"validation_error",
				"No item of the batch is valid; nothing was accepted.",
				results.map((r) => ({ index: r.index, message: "error" in r ? r.error.message : "" })),
			);
		}
		const deps = sendDeps(c);
		const outcome = await idempotent(c, async () => {
			let durable: boolean[];
			let prepared: Awaited<ReturnType<typeof prepareJob>>[];
			try {
				prepared = await Promise.all(valid.map((v) => prepareJob(v.message, sender, deps)));
				durable = await enqueueMany(prepared, deps);
			} catch (error) {
				console.error("batch enqueue failed", { error: String(error) });
				throw new ApiError("service_unavailable", UNAVAILABLE);
			}
			if (!durable.some(Boolean)) throw new ApiError("service_unavailable", UNAVAILABLE);
			valid.forEach((v, i) => {
				const job = prepared[i]?.job;
				results[v.index] =
					durable[i] && job
						? { index: v.index, id: job.id, status: "queued" }
						: { index: v.index, error: { code: "service_unavailable", message: UNAVAILABLE } };
			});
			const accepted = results.filter((r) => "id" in r).length;
			return { status: 202, body: { data: results, accepted, rejected: results.length - accepted } };
		});
		return c.json(outcome.body as z.infer<typeof BatchResponseSchema>, 202, replayHeaders(outcome));
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
