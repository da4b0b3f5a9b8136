// SendGrid's v3 mail send, so @sendgrid/mail works with its client's baseUrl set to the relay:
// POST /v3/mail/send, Bearer auth, 202 with an empty body and X-Message-Id, SendGrid's errors.
import type { Context } from "hono";
import { acceptMessages } from "../../../domain/compat/accept";
import { sendgridError, sendgridMailSchema, sendgridToSend } from "../../../domain/compat/sendgrid";
import { ApiError } from "../../../errors";
import type { App, AppEnv } from "../../context";
import { bearerKey, providerErrors, requireKeyFrom } from "../../middleware/compat";
import { jsonBody, limitBody } from "../../middleware/json-body";
import { idempotencyOf, jsonOf, sendDeps, senderOf } from "./context";
import { documentRoute } from "./openapi";

/** Which personalization a refusal is about, for SendGrid's `field`. */
class PersonalizationError extends ApiError {
	constructor(
		readonly index: number,
		cause: ApiError,
	) {
		super(cause.code, cause.message, cause.details);
	}
}

const errors = providerErrors((error, c) => {
	const { status, body } = sendgridError(error, error instanceof PersonalizationError ? error.index : undefined);
	return c.json(body, status as 400);
});

const canSend = requireKeyFrom("email:send", bearerKey, "Missing API key: send it as `Authorization: Bearer <key>`.");

async function send(c: Context<AppEnv>) {
	const mapped = sendgridToSend(jsonOf(c) ?? {});
	if (!mapped.ok) throw mapped.error;
	const idem = idempotencyOf(c, c.var.rawBody ?? "");
	const outcome = await acceptMessages(mapped.value, "all_or_nothing", senderOf(c), sendDeps(c), idem);
	if (!outcome.ok) throw new PersonalizationError(outcome.error.index, outcome.error.error);
	const ids = outcome.value.items.flatMap((i) => (i.ok ? [i.id] : []));
	// SendGrid has one X-Message-Id per request; the relay has one message per personalization, so
	// the first id goes there and all of them, in order, in X-Mail-Queue-Message-Ids.
	return c.body(null, 202, { "X-Message-Id": ids[0] ?? "", "X-Mail-Queue-Message-Ids": ids.join(",") });
}

export function registerSendgridRoutes(app: App): void {
	app.post("/v3/mail/send", errors, canSend, limitBody, jsonBody, send);

	documentRoute(app, {
		method: "post",
		path: "/v3/mail/send",
		summary: "SendGrid: send mail",
		description:
			"SendGrid's v3 mail send for @sendgrid/mail (docs/migrate/sendgrid.md). One message per personalization; 202 with X-Message-Id (the first) and X-Mail-Queue-Message-Ids (all, in order).",
		security: [{ bearerAuth: [] }],
		body: { type: "application/json", schema: sendgridMailSchema },
		responses: {
			202: "Accepted; empty body",
			400: "{errors: [{message, field, help}]}",
			401: "Missing or invalid key",
			403: "The sender's domain is not verified, or the key lacks the scope",
			413: "Body too large",
		},
	});
}
