// The render stage (DESIGN.md "Send consumer"): once per attempt, before any driver, a message becomes
// the RenderedMessage every gateway sends plus its envelope. Stages run in this order:
// personalization → tracking links → List-Unsubscribe and VERP Return-Path → header rewrite → DKIM →
// MIME. Personalization, tracking, the return path and DKIM are filled by their own issues; until then
// they pass the draft through unchanged, and `renderWith` lets a test see where each plugs in.
// A message received over SMTP renders in raw mode (raw-mime.ts): the same stages run on its parts,
// but the MIME step edits the client's header block instead of building a new message.
import { err, ok, type Result } from "../../errors";
import { domainOf } from "../../lib/address";
import { sha256Hex } from "../../lib/crypto";
import { buildMime, type MimeParts } from "../../providers/mime";
import type { Envelope, RenderedMessage } from "../../providers/types";
import { returnPathFor, type VerpConfig } from "../inbound/verp";
import type { AcceptedMessage } from "../messages/model";
import { editRaw, type RawMessage, rawBaseline, rawMessageId, splitRaw } from "./raw-mime";

export type RenderInput = {
	id: string;
	workspaceId: string;
	message: AcceptedMessage;
	/** The envelope recipients of this attempt: those not yet sent or refused. */
	recipients: readonly string[];
	attempt: number;
	/** Set by the send consumer: the envelope sender becomes the VERP bounce address. */
	verp?: VerpConfig | undefined;
};

/**
 * What stages read and change: the message parts and its envelope. `raw` is set in raw mode: header
 * changes reach the delivered message, changes to html/text/attachments do not (the client's body is
 * delivered as sent), so a stage that rewrites the body skips such a draft.
 */
export type Draft = { parts: MimeParts; envelope: Envelope; raw?: RawMessage | undefined };

export type RenderStage = { name: string; apply: (draft: Draft, input: RenderInput) => Draft | Promise<Draft> };

const passThrough = (name: string): RenderStage => ({ name, apply: (draft) => draft });

/** Headers only the relay writes: a client header of these names never reaches the message. */
const RELAY_HEADERS = new Set(["x-mail-queue-id", "return-path", "sender", "dkim-signature", "received"]);

/** VERP (docs/inbound.md): MAIL FROM, which the receiving MTA turns into Return-Path, names this message. */
const returnPath: RenderStage = {
	name: "return-path",
	apply: async (draft, input) => {
		const { verp, message } = input;
		const first = input.recipients[0];
		if (!verp || first === undefined) return draft;
		const from = await returnPathFor(verp, {
			messageId: input.id,
			fromEmail: message.from.email,
			messageRecipients: [...message.to, ...message.cc, ...message.bcc].map((m) => m.email),
			recipient: first,
		});
		return { ...draft, envelope: { ...draft.envelope, from } };
	},
};

const rewriteHeaders: RenderStage = {
	name: "header-rewrite",
	apply: (draft, input) => ({
		...draft,
		parts: {
			...draft.parts,
			headers: [
				...draft.parts.headers.filter(([name]) => !RELAY_HEADERS.has(name.toLowerCase())),
				["X-Mail-Queue-ID", input.id],
			],
		},
	}),
};

export const RENDER_STAGES: readonly RenderStage[] = [
	passThrough("personalization"),
	passThrough("tracking"),
	returnPath,
	rewriteHeaders,
	passThrough("dkim"),
];

/** A stable key for one message and one or more recipients (providers dedupe on it). */
export async function deliveryKey(id: string, emails: readonly string[]): Promise<string> {
	return `${id}-${(await sha256Hex([...emails].sort().join("\n"))).slice(0, 16)}`;
}

export function messageIdHeader(id: string, fromEmail: string): string {
	return `<${id.toLowerCase()}@${domainOf(fromEmail)}>`;
}

async function initialDraft(input: RenderInput): Promise<Draft> {
	const { message } = input;
	const raw = message.raw === undefined ? null : splitRaw(message.raw);
	return {
		...(raw ? { raw } : {}),
		parts: {
			id: input.id,
			workspaceId: input.workspaceId,
			from: message.from,
			to: message.to,
			cc: message.cc,
			replyTo: message.replyTo,
			subject: message.subject,
			html: message.html,
			text: message.text,
			attachments: message.attachments ?? [],
			messageIdHeader: (raw && rawMessageId(raw)) || messageIdHeader(input.id, message.from.email),
			headers: raw ? rawBaseline(message.headers) : Object.entries(message.headers),
			tags: message.tags,
			metadata: message.metadata,
		},
		envelope: {
			from: message.from.email,
			recipients: await Promise.all(
				input.recipients.map(async (email) => ({ email, idempotencyKey: await deliveryKey(input.id, [email]) })),
			),
			idempotencyKey: await deliveryKey(input.id, input.recipients),
			attempt: input.attempt,
		},
	};
}

export type Rendered = { message: RenderedMessage; envelope: Envelope };

/** Runs `stages` then builds the MIME. A failure is permanent: the same input fails the same way. */
export async function renderWith(
	stages: readonly RenderStage[],
	input: RenderInput,
): Promise<Result<Rendered, string>> {
	let draft = await initialDraft(input);
	const baseline = draft.parts.headers;
	let stage = "mime";
	try {
		for (const s of stages) {
			stage = s.name;
			draft = await s.apply(draft, input);
		}
		stage = "mime";
		const { parts } = draft;
		const raw = draft.raw
			? editRaw(draft.raw, {
					baseline,
					final: parts.headers,
					messageIdHeader: parts.messageIdHeader,
					date: new Date(),
				})
			: buildMime(parts);
		return ok({ message: { ...parts, raw }, envelope: draft.envelope });
	} catch (error) {
		// Only the error's class goes out: a render error's text can quote message content.
		const kind = error instanceof Error ? error.name : "error";
		return err(`the message could not be rendered (${stage} stage, ${kind})`);
	}
}

export function render(input: RenderInput): Promise<Result<Rendered, string>> {
	return renderWith(RENDER_STAGES, input);
}
