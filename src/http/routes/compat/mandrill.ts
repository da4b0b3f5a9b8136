// Mandrill's messages/send, so Mandrill clients (and @mailchimp/mailchimp_transactional with its
// basePath set to the relay) work unchanged: POST /api/1.0/messages/send(.json), also under 1.3,
// the key in the JSON body, one result per recipient, Mandrill's errors.
// Mandrill puts the key inside the body, so this is the one surface that must read the body before
// it can authenticate: the body limit still applies first, and nothing else is done before the key
// is checked.
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { acceptMessages } from "../../../domain/compat/accept";
import { errorField } from "../../../domain/compat/common";
import {
	mandrillError,
	mandrillKey,
	mandrillResults,
	mandrillSendSchema,
	mandrillToSend,
} from "../../../domain/compat/mandrill";
import { ApiError } from "../../../errors";
import type { App, AppEnv } from "../../context";
import { providerErrors, requireKeyFrom } from "../../middleware/compat";
import { limitBody } from "../../middleware/json-body";
import { idempotencyOf, jsonOf, sendDeps, senderOf } from "./context";
import { documentRoute } from "./openapi";

// Mandrill answers every error with HTTP 500 and the error in the body; its clients expect that.
const errors = providerErrors((error, c) => c.json(mandrillError(error), 500));

/** Mandrill's body is JSON whatever its Content-Type says (its clients send text/plain, JSON or none). */
const mandrillBody = createMiddleware<AppEnv>(async (c, next) => {
	const text = await c.req.text();
	try {
		JSON.parse(text);
	} catch {
		throw new ApiError("invalid_json", "The request body is not valid JSON.");
	}
	c.set("rawBody", text);
	await next();
});

const canSend = requireKeyFrom("email:send", (c) => mandrillKey(jsonOf(c)), "You must specify a key value");

async function send(c: Context<AppEnv>) {
	const plan = mandrillToSend(jsonOf(c));
	if (!plan.ok) throw plan.error;
	const { perRecipient } = plan.value;
	const outcome = await acceptMessages(
		plan.value.inputs,
		"per_item",
		senderOf(c),
		sendDeps(c),
		idempotencyOf(c, c.var.rawBody ?? ""),
		(error) => error.code === "domain_not_verified" || (perRecipient && errorField(error) === "to"),
	);
	if (!outcome.ok) throw outcome.error.error;
	const results = mandrillResults(plan.value, outcome.value.items);
	if (!results.ok) throw results.error;
	return c.json(results.value, 200);
}

const PATHS = [
	"/api/1.0/messages/send",
	"/api/1.0/messages/send.json",
	"/api/1.3/messages/send",
	"/api/1.3/messages/send.json",
];

export function registerMandrillRoutes(app: App): void {
	for (const path of PATHS) {
		app.post(path, errors, limitBody, mandrillBody, canSend, send);
		documentMandrill(app, path);
	}
}

// Every alias is documented: the OpenAPI test holds the document to every route the app serves.
function documentMandrill(app: App, path: string): void {
	documentRoute(app, {
		method: "post",
		path,
		summary: "Mandrill: send a message",
		description:
			"Mandrill's messages/send (docs/migrate/mandrill.md), also at /api/1.0/messages/send and under /api/1.3. The key is the body's `key`, so the body is read (within the size limit) before authentication. Errors answer HTTP 500 with `{status: 'error', code, name, message}`, as Mandrill does.",
		security: [],
		body: { type: "application/json", schema: mandrillSendSchema },
		responses: {
			200: "One {email, status, _id, reject_reason} per recipient",
			500: "{status: 'error', code, name: 'Invalid_Key' | 'ValidationError' | 'GeneralError', message}",
		},
	});
}
