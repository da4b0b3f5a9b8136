// Mandrill's messages/send (POST /api/1.0/messages/send.json) mapped onto the relay's send request.
// Maps: from_email/from_name, to `[{email, name, type}]`, subject, html, text, headers (Reply-To →
// reply_to), tags, metadata and recipient_metadata, attachments `[{type, name, content}]` and images
// (inline, their `name` the Content-ID the HTML references as cid:name). As on Mandrill, without preserve_recipients each
// recipient gets its own message addressed only to them (recipient_metadata merged into its
// metadata); with preserve_recipients: true one message goes to all, to/cc/bcc by `type`.
// Accepts as no-ops the options that ask for nothing (false, null, empty) and `async`, since the
// relay always answers before delivery. Refuses, with Mandrill's ValidationError: merge_vars/global_merge_vars/merge (no personalization yet), send_at (no
// scheduling yet), tracking, and any option that asks for something the relay does not do.
// Answers one `{email, status, _id, reject_reason}` per recipient: "queued", "invalid" for a bad
// address, "rejected" with reject_reason "unsigned" for an unverified sending domain (its _id is
// null: nothing was accepted). Errors answer `{status: "error", code, name, message}` with HTTP 500,
// as Mandrill does: Invalid_Key (-1), ValidationError (-2), GeneralError (-1).
import { z } from "zod";
import { type ApiError, describeIssues, err, ok, type Result } from "../../errors";
import { formatMailbox } from "../../lib/address";
import type { ItemOutcome } from "./accept";
import { attachmentOf, errorField, isRecord, refuse, type SendRequest } from "./common";

const recipient = z.strictObject({
	email: z.string(),
	name: z.string().nullish(),
	type: z.enum(["to", "cc", "bcc"]).nullish(),
});
const strings = z.record(z.string(), z.string());
const file = z.strictObject({ type: z.string().nullish(), name: z.string(), content: z.string() });

/** Options the relay has no use for when they ask for nothing; anything else in them is refused. */
const NO_OPS = [
	"important",
	"track_opens",
	"track_clicks",
	"auto_text",
	"auto_html",
	"inline_css",
	"url_strip_qs",
	"view_content_link",
	"merge",
	"bcc_address",
	"tracking_domain",
	"signing_domain",
	"return_path_domain",
	"merge_language",
	"subaccount",
	"google_analytics_domains",
	"google_analytics_campaign",
] as const;

export const mandrillMessageSchema = z.looseObject({
	html: z.string().nullish(),
	text: z.string().nullish(),
	subject: z.string().nullish(),
	from_email: z.string(),
	from_name: z.string().nullish(),
	to: z.array(recipient).min(1),
	headers: strings.nullish(),
	preserve_recipients: z.boolean().nullish(),
	tags: z.array(z.string()).nullish(),
	metadata: strings.nullish(),
	recipient_metadata: z.array(z.strictObject({ rcpt: z.string(), values: strings })).nullish(),
	global_merge_vars: z.array(z.unknown()).nullish(),
	merge_vars: z.array(z.unknown()).nullish(),
	attachments: z.array(file).nullish(),
	images: z.array(file).nullish(),
});

export const mandrillSendSchema = z.strictObject({
	key: z.string().optional(),
	message: mandrillMessageSchema,
	async: z.boolean().nullish(),
	ip_pool: z.string().nullish(),
	send_at: z.string().nullish(),
});

export type MandrillResult = {
	email: string;
	status: "queued" | "rejected" | "invalid";
	_id: string | null;
	reject_reason: string | null;
};
export type MandrillError = { status: "error"; code: number; name: string; message: string };
/** The messages of a call, the recipients each answers for, and whether each recipient has its own. */
export type MandrillPlan = { inputs: SendRequest[]; recipients: string[][]; perRecipient: boolean };

const asksNothing = (v: unknown) =>
	v === undefined || v === null || v === false || v === "" || (Array.isArray(v) && v.length === 0);

/** The call → its messages, each with the recipients it answers for. */
export function mandrillToSend(body: unknown): Result<MandrillPlan, ApiError> {
	const parsed = mandrillSendSchema.safeParse(body);
	if (!parsed.success) {
		const first = describeIssues(parsed.error.issues)[0];
		return err(refuse(first?.path || "body", first?.message ?? "invalid"));
	}
	const { message: m } = parsed.data;
	if (!asksNothing(parsed.data.send_at)) return err(refuse("send_at", "scheduled sending is not supported yet"));
	if (!asksNothing(parsed.data.ip_pool)) return err(refuse("ip_pool", "IP pools are not supported by this relay"));
	for (const [field, why] of [
		["merge_vars", "merge variables are not supported by this relay yet"],
		["global_merge_vars", "merge variables are not supported by this relay yet"],
	] as const) {
		if (!asksNothing(m[field])) return err(refuse(`message.${field}`, why));
	}
	const known = new Set([...Object.keys(mandrillMessageSchema.shape), ...NO_OPS]);
	for (const [field, value] of Object.entries(m)) {
		if (!known.has(field)) return err(refuse(`message.${field}`, "is not a Mandrill message field"));
		if ((NO_OPS as readonly string[]).includes(field) && !asksNothing(value)) {
			return err(refuse(`message.${field}`, "is not supported by this relay; leave it unset or false"));
		}
	}
	const headers: Record<string, string> = {};
	let replyTo: string | undefined;
	for (const [name, value] of Object.entries(m.headers ?? {})) {
		if (name.toLowerCase() === "reply-to") replyTo = value;
		else headers[name] = value;
	}
	for (const [i, image] of (m.images ?? []).entries()) {
		if (!image.type?.startsWith("image/")) return err(refuse(`message.images.${i}.type`, "must be an image/* type"));
	}
	const attachments = [
		...(m.attachments ?? []).map((a) => attachmentOf(a.name, a.content, a.type)),
		...(m.images ?? []).map((a) => attachmentOf(a.name, a.content, a.type, a.name)),
	];
	const from = m.from_name ? formatMailbox({ email: m.from_email, name: m.from_name }) : m.from_email;
	const base = {
		from,
		subject: m.subject ?? "",
		...(m.html ? { html: m.html } : {}),
		...(m.text ? { text: m.text } : {}),
		...(Object.keys(headers).length > 0 ? { headers } : {}),
		...(replyTo ? { reply_to: replyTo } : {}),
		...(m.tags && m.tags.length > 0 ? { tags: m.tags } : {}),
		...(attachments.length > 0 ? { attachments } : {}),
	};
	const mailbox = (r: z.infer<typeof recipient>) =>
		r.name ? formatMailbox({ email: r.email, name: r.name }) : r.email;
	if (m.preserve_recipients === true) {
		const of = (type: "to" | "cc" | "bcc") => m.to.filter((r) => (r.type ?? "to") === type).map(mailbox);
		const input: SendRequest = {
			...base,
			to: of("to"),
			cc: of("cc"),
			bcc: of("bcc"),
			...(m.metadata ? { metadata: m.metadata } : {}),
		};
		return ok({ inputs: [input], recipients: [m.to.map((r) => r.email)], perRecipient: false });
	}
	const perRecipient = new Map((m.recipient_metadata ?? []).map((r) => [r.rcpt.toLowerCase(), r.values]));
	const inputs = m.to.map((r): SendRequest => {
		const metadata = { ...m.metadata, ...perRecipient.get(r.email.toLowerCase()) };
		return { ...base, to: [mailbox(r)], ...(Object.keys(metadata).length > 0 ? { metadata } : {}) };
	});
	return ok({ inputs, recipients: m.to.map((r) => [r.email]), perRecipient: true });
}

/**
 * Per message outcome → Mandrill's per-recipient answer, or the error when it is about the call
 * rather than one recipient (then the call fails with ValidationError, as Mandrill's would).
 */
export function mandrillResults(plan: MandrillPlan, items: readonly ItemOutcome[]): Result<MandrillResult[], ApiError> {
	const out: MandrillResult[] = [];
	for (const [i, item] of items.entries()) {
		for (const email of plan.recipients[i] ?? []) {
			if (item.ok) out.push({ email, status: "queued", _id: item.id, reject_reason: null });
			else if (item.error.code === "domain_not_verified") {
				out.push({ email, status: "rejected", _id: null, reject_reason: "unsigned" });
			} else if (plan.perRecipient && errorField(item.error) === "to") {
				out.push({ email, status: "invalid", _id: null, reject_reason: null });
			} else return err(item.error);
		}
	}
	return ok(out);
}

export function mandrillError(error: ApiError): MandrillError {
	if (error.code === "unauthorized" || error.code === "forbidden") {
		return { status: "error", code: -1, name: "Invalid_Key", message: `Invalid API key: ${error.message}` };
	}
	if (error.status === 400 || error.status === 413 || error.status === 415 || error.status === 422) {
		return { status: "error", code: -2, name: "ValidationError", message: error.message };
	}
	return { status: "error", code: -1, name: "GeneralError", message: error.message };
}

/** The key of a Mandrill call, which Mandrill puts in the JSON body. */
export function mandrillKey(body: unknown): string | undefined {
	return isRecord(body) && typeof body.key === "string" ? body.key : undefined;
}
