// Resend's API at the root of the relay, so the `resend` SDK works with RESEND_BASE_URL set to the
// relay: POST /emails, POST /emails/batch, GET /emails/{id}, Bearer auth, Resend's shapes and errors.
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createDb } from "../../../db/client";
import { acceptMessages } from "../../../domain/compat/accept";
import type { SendRequest } from "../../../domain/compat/common";
import {
	RESEND_MAX_BATCH,
	resendEmailSchema,
	resendEmailView,
	resendError,
	resendToSend,
} from "../../../domain/compat/resend";
import { getEmail } from "../../../domain/messages/read";
import { ApiError } from "../../../errors";
import type { App, AppEnv } from "../../context";
import { bearerKey, providerErrors, requireKeyFrom } from "../../middleware/compat";
import { jsonBody, limitBody } from "../../middleware/json-body";
import { idempotencyOf, jsonOf, sendDeps, senderOf } from "./context";
import { documentRoute } from "./openapi";

const MISSING = "Missing API key in the authorization header.";

const errors = providerErrors((error, c) => {
	const body = resendError(error);
	return c.json(body, body.statusCode as 400);
});

const canSend = requireKeyFrom("email:send", bearerKey, MISSING);
const canRead = requireKeyFrom("email:read", bearerKey, MISSING);

/** A refusal that names the batch item it is about, as Resend's messages do. */
function atIndex(error: ApiError, index: number, batch: boolean): ApiError {
	return batch ? new ApiError(error.code, `emails[${index}]: ${error.message}`, error.details) : error;
}

async function send(c: Context<AppEnv>) {
	const mapped = resendToSend(jsonOf(c) ?? {});
	if (!mapped.ok) throw mapped.error;
	const outcome = await acceptMessages([mapped.value], "all_or_nothing", senderOf(c), sendDeps(c), idem(c));
	if (!outcome.ok) throw outcome.error.error;
	const item = outcome.value.items[0];
	if (!item?.ok) throw item?.error ?? new ApiError("internal_error", "not accepted");
	return c.json({ id: item.id }, 200, replayed(outcome.value.replayed));
}

async function batch(c: Context<AppEnv>) {
	const body = jsonOf(c);
	if (!Array.isArray(body) || body.length === 0 || body.length > RESEND_MAX_BATCH) {
		throw new ApiError("validation_error", `The body must be an array of 1 to ${RESEND_MAX_BATCH} emails.`);
	}
	// Resend's strict mode (its default) refuses the whole batch for one bad email; permissive
	// accepts the good ones and lists the others in `errors`.
	const permissive = c.req.header("x-batch-validation")?.toLowerCase() === "permissive";
	const inputs: { index: number; input: SendRequest }[] = [];
	const refused: { index: number; message: string }[] = [];
	for (const [index, item] of body.entries()) {
		const mapped = resendToSend(item);
		if (mapped.ok) inputs.push({ index, input: mapped.value });
		else if (permissive) refused.push({ index, message: mapped.error.message });
		else throw atIndex(mapped.error, index, true);
	}
	const outcome = await acceptMessages(
		inputs.map((i) => i.input),
		permissive ? "per_item" : "all_or_nothing",
		senderOf(c),
		sendDeps(c),
		idem(c),
	);
	if (!outcome.ok) throw atIndex(outcome.error.error, inputs[outcome.error.index]?.index ?? 0, true);
	const data: { id: string }[] = [];
	outcome.value.items.forEach((item, j) => {
		if (item.ok) data.push({ id: item.id });
		else refused.push({ index: inputs[j]?.index ?? j, message: item.error.message });
	});
	const headers = replayed(outcome.value.replayed);
	if (!permissive) return c.json({ data }, 200, headers);
	return c.json({ data, errors: refused.sort((a, b) => a.index - b.index) }, 200, headers);
}

async function get(c: Context<AppEnv>) {
	const deps = { db: createDb(c.env.DB), signingKey: c.var.config.SIGNING_KEY, now: Date.now() };
	const email = await getEmail(deps, c.var.principal.workspaceId, c.req.param("id") ?? "");
	if (!email) throw new ApiError("not_found", "Email not found");
	return c.json(resendEmailView(email), 200);
}

const idem = (c: Context<AppEnv>) => idempotencyOf(c, c.var.rawBody ?? "");
const replayed = (yes: boolean): Record<string, string> => (yes ? { "Idempotent-Replayed": "true" } : {});

export function registerResendRoutes(app: App): void {
	app.post("/emails", errors, canSend, limitBody, jsonBody, send);
	app.post("/emails/batch", errors, canSend, limitBody, jsonBody, batch);
	app.get("/emails/:id", errors, canRead, get);

	const security = [{ bearerAuth: [] }];
	const responses = {
		200: "Resend's answer",
		401: "missing_api_key / restricted_api_key",
		403: "invalid_api_key, or the sender's domain is not verified",
		422: "validation_error",
	};
	documentRoute(app, {
		method: "post",
		path: "/emails",
		summary: "Resend: send an email",
		description: "Resend's POST /emails for the `resend` SDK (docs/migrate/resend.md). Answers `{id}`.",
		security,
		body: { type: "application/json", schema: resendEmailSchema },
		responses,
	});
	documentRoute(app, {
		method: "post",
		path: "/emails/batch",
		summary: "Resend: send up to 100 emails",
		description:
			"Answers `{data: [{id}]}` in request order; `x-batch-validation: permissive` accepts the valid emails and lists the others in `errors`.",
		security,
		body: { type: "application/json", schema: z.array(resendEmailSchema) },
		responses,
	});
	documentRoute(app, {
		method: "get",
		path: "/emails/{id}",
		summary: "Resend: get an email",
		description: "Resend's email object for a relay message id; `last_event` follows the relay's status.",
		security,
		params: z.object({ id: z.string() }),
		responses: { 200: "Resend's email object", 401: "missing_api_key", 403: "invalid_api_key", 404: "not_found" },
	});
}
