// Postmark's API, so the `postmark` SDK's ServerClient works with requestHost set to the relay:
// POST /email and POST /email/batch, the key in X-Postmark-Server-Token, Postmark's shapes and errors.
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { acceptMessages } from "../../../domain/compat/accept";
import type { SendRequest } from "../../../domain/compat/common";
import {
	POSTMARK_MAX_BATCH,
	postmarkAccepted,
	postmarkEmailSchema,
	postmarkError,
	postmarkToSend,
} from "../../../domain/compat/postmark";
import { ApiError } from "../../../errors";
import type { App, AppEnv } from "../../context";
import { providerErrors, requireKeyFrom } from "../../middleware/compat";
import { jsonBody, limitBody } from "../../middleware/json-body";
import { idempotencyOf, jsonOf, sendDeps, senderOf } from "./context";
import { documentRoute, registerSecurity } from "./openapi";

const errors = providerErrors((error, c) => {
	const { status, body } = postmarkError(error);
	return c.json(body, status as 422);
});

const canSend = requireKeyFrom(
	"email:send",
	(c) => c.req.header("x-postmark-server-token"),
	"Request does not contain a valid Server token: send it in X-Postmark-Server-Token.",
);

async function send(c: Context<AppEnv>) {
	const mapped = postmarkToSend(jsonOf(c) ?? {});
	if (!mapped.ok) throw mapped.error;
	const outcome = await acceptMessages([mapped.value], "all_or_nothing", senderOf(c), sendDeps(c), idem(c));
	if (!outcome.ok) throw outcome.error.error;
	const item = outcome.value.items[0];
	if (!item?.ok) throw item?.error ?? new ApiError("internal_error", "not accepted");
	return c.json(postmarkAccepted(mapped.value, item.id, new Date()), 200);
}

/** Postmark's batch answers 200 with one result per message, in order; a bad message fails alone. */
async function batch(c: Context<AppEnv>) {
	const body = jsonOf(c);
	if (!Array.isArray(body) || body.length === 0 || body.length > POSTMARK_MAX_BATCH) {
		throw new ApiError("validation_error", `The body must be an array of 1 to ${POSTMARK_MAX_BATCH} messages.`);
	}
	const results: unknown[] = body.map(() => null);
	const inputs: { index: number; input: SendRequest }[] = [];
	for (const [index, item] of body.entries()) {
		const mapped = postmarkToSend(item);
		if (mapped.ok) inputs.push({ index, input: mapped.value });
		else results[index] = postmarkError(mapped.error).body;
	}
	const outcome = await acceptMessages(
		inputs.map((i) => i.input),
		"per_item",
		senderOf(c),
		sendDeps(c),
		idem(c),
	);
	if (!outcome.ok) throw outcome.error.error;
	const now = new Date();
	outcome.value.items.forEach((item, j) => {
		const entry = inputs[j];
		if (!entry) return;
		results[entry.index] = item.ok ? postmarkAccepted(entry.input, item.id, now) : postmarkError(item.error).body;
	});
	return c.json(results, 200);
}

const idem = (c: Context<AppEnv>) => idempotencyOf(c, c.var.rawBody ?? "");

export function registerPostmarkRoutes(app: App): void {
	app.post("/email", errors, canSend, limitBody, jsonBody, send);
	app.post("/email/batch", errors, canSend, limitBody, jsonBody, batch);

	registerSecurity(app, "postmarkServerToken", {
		type: "apiKey",
		in: "header",
		name: "X-Postmark-Server-Token",
		description: "A relay API key in Postmark's server-token header.",
	});
	const security = [{ postmarkServerToken: [] }];
	const responses = {
		200: "Postmark's answer: {To, SubmittedAt, MessageID, ErrorCode: 0, Message: 'OK'}",
		401: "ErrorCode 10: missing or invalid token",
		422: "ErrorCode 300 (invalid request), 400 (sender not verified), 402 (invalid JSON), 1235 (unknown stream)",
	};
	documentRoute(app, {
		method: "post",
		path: "/email",
		summary: "Postmark: send an email",
		description: "Postmark's POST /email for the `postmark` SDK (docs/migrate/postmark.md).",
		security,
		body: { type: "application/json", schema: postmarkEmailSchema },
		responses,
	});
	documentRoute(app, {
		method: "post",
		path: "/email/batch",
		summary: "Postmark: send up to 500 emails",
		description: "One result per message, in order; a message that fails carries its own non-zero ErrorCode.",
		security,
		body: { type: "application/json", schema: z.array(postmarkEmailSchema) },
		responses,
	});
}
