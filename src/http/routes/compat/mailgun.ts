// Mailgun's messages API, so mailgun.js works with its client `url` set to the relay:
// POST /v3/{domain}/messages as multipart or urlencoded, Basic auth `api:<key>`, `{domain}` a
// verified domain of the workspace, Mailgun's answer `{id: "<id@domain>", message}` and its errors.
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { acceptMessages } from "../../../domain/compat/accept";
import {
	checkMailgunDomain,
	type FormEntry,
	mailgunError,
	mailgunId,
	mailgunToSend,
} from "../../../domain/compat/mailgun";
import { ApiError } from "../../../errors";
import { toBase64 } from "../../../lib/encoding";
import type { App, AppEnv } from "../../context";
import { basicPassword, providerErrors, requireKeyFrom } from "../../middleware/compat";
import { limitBody } from "../../middleware/json-body";
import { idempotencyOf, sendDeps, senderOf } from "./context";
import { documentRoute, registerSecurity } from "./openapi";

const FORM_TYPES = new Set(["multipart/form-data", "application/x-www-form-urlencoded"]);

const errors = providerErrors((error, c) => {
	const { status, body } = mailgunError(error);
	return typeof body === "string" ? c.text(body, status as 401) : c.json(body, status as 400);
});

const canSend = requireKeyFrom("email:send", basicPassword("api"), "Forbidden");

async function readForm(c: Context<AppEnv>): Promise<FormEntry[]> {
	const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
	if (!FORM_TYPES.has(type)) {
		throw new ApiError("unsupported_media_type", "Send the message as multipart/form-data or urlencoded form.");
	}
	try {
		const form = [...(await c.req.raw.formData()).entries()];
		// Files become base64 here, once: the domain maps them as /v1 attachments, and an
		// Idempotency-Key then covers their bytes as well as the text parameters.
		return await Promise.all(
			form.map(async ([name, value]): Promise<FormEntry> => {
				if (typeof value === "string") return [name, value];
				const content = toBase64(new Uint8Array(await value.arrayBuffer()));
				return [name, { filename: value.name, type: value.type, content }];
			}),
		);
	} catch (error) {
		if (error instanceof ApiError) throw error;
		throw new ApiError("invalid_request", "The form body could not be parsed.");
	}
}

async function send(c: Context<AppEnv>) {
	const domain = c.req.param("domain") ?? "";
	const known = checkMailgunDomain(domain, c.var.principal.verifiedDomains);
	if (!known.ok) throw known.error;
	const entries = await readForm(c);
	const mapped = mailgunToSend(entries);
	if (!mapped.ok) throw mapped.error;
	// A form has no canonical text; its parameters and files, in order, are what an Idempotency-Key covers.
	const fingerprint = JSON.stringify(entries);
	const idem = idempotencyOf(c, fingerprint);
	const outcome = await acceptMessages(mapped.value, "all_or_nothing", senderOf(c), sendDeps(c), idem);
	if (!outcome.ok) throw outcome.error.error;
	const ids = outcome.value.items.flatMap((i) => (i.ok ? [mailgunId(i.id, domain)] : []));
	// Mailgun answers one id per request; with recipient-variables the relay makes one message per
	// recipient, so `id` is the first and `ids` lists them all in `to` order.
	return c.json({ id: ids[0] ?? "", message: "Queued. Thank you.", ...(ids.length > 1 ? { ids } : {}) }, 200);
}

export function registerMailgunRoutes(app: App): void {
	app.post("/v3/:domain/messages", errors, canSend, limitBody, send);

	registerSecurity(app, "mailgunBasic", {
		type: "http",
		scheme: "basic",
		description: "User `api`, password a relay API key (Mailgun's convention).",
	});
	documentRoute(app, {
		method: "post",
		path: "/v3/{domain}/messages",
		summary: "Mailgun: send a message",
		description:
			"Mailgun's messages API for mailgun.js (docs/migrate/mailgun.md). `{domain}` must be a verified domain of the workspace.",
		security: [{ mailgunBasic: [] }],
		params: z.object({ domain: z.string() }),
		body: {
			type: "multipart/form-data",
			schema: z.object({
				from: z.string(),
				to: z.union([z.string(), z.array(z.string())]),
				subject: z.string().optional(),
				text: z.string().optional(),
				html: z.string().optional(),
				"o:tag": z.union([z.string(), z.array(z.string())]).optional(),
				"recipient-variables": z.string().optional(),
				attachment: z
					.array(z.string().meta({ format: "binary" }))
					.optional()
					.meta({ description: "File parts, repeated." }),
				inline: z
					.array(z.string().meta({ format: "binary" }))
					.optional()
					.meta({ description: "Inline file parts; each one's Content-ID is its file name." }),
			}),
		},
		responses: {
			200: "{id: '<id@domain>', message: 'Queued. Thank you.'}",
			400: "{message}",
			401: "Forbidden",
			403: "The sender's domain is not verified",
			404: "Domain not found",
		},
	});
}
