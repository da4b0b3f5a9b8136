// How a provider-shaped request is accepted: its messages, already mapped onto the /v1 send request,
// go through validateSend and then submitOne / submitBatch — the one accept path of POST /v1/emails
// (idempotency, stable ids, the send queue). No second send path: this only decides, per provider,
// whether one bad message refuses the whole request (Resend, SendGrid, Mailgun) or only itself
// (Postmark's batch, Resend's permissive batch, Mandrill's recipients).
import { ApiError, err, ok, type Result } from "../../errors";
import type { IdempotencyRequest } from "../idempotency";
import type { SendDeps } from "../messages/accept";
import { type Accepted, type BatchResponse, submitBatch, submitOne } from "../messages/submit";
import { type Sender, validateSend } from "../messages/validate";
import type { SendRequest } from "./common";

export type ItemOutcome = { ok: true; id: string } | { ok: false; error: ApiError };
export type AcceptOutcome = { items: ItemOutcome[]; replayed: boolean };
export type AcceptMode = "all_or_nothing" | "per_item";
/** A refusal of the whole request, with the index of the message that caused it. */
export type Refusal = { error: ApiError; index: number };

export async function acceptMessages(
	inputs: readonly SendRequest[],
	mode: AcceptMode,
	sender: Sender,
	deps: SendDeps,
	idempotency: IdempotencyRequest | null,
	/** In per_item mode, which refusals stay with their message; any other refuses the request. */
	itemLevel: (error: ApiError) => boolean = () => true,
): Promise<Result<AcceptOutcome, Refusal>> {
	// validateSend is pure and cheap; running it first tells every message's fate before anything is
	// accepted, which an all-or-nothing provider needs. submit* validates again on its own.
	const checked = inputs.map((input) => validateSend(input, sender));
	const firstBad = checked.findIndex((c) => !c.ok && (mode === "all_or_nothing" || !itemLevel(c.error)));
	const bad = checked[firstBad];
	if (bad && !bad.ok) return err({ error: bad.error, index: firstBad });
	const valid = inputs.flatMap((input, index) => (checked[index]?.ok ? [{ input, index }] : []));
	const items: ItemOutcome[] = checked.map((c) =>
		c.ok ? { ok: false, error: new ApiError("internal_error", "not accepted") } : { ok: false, error: c.error },
	);
	if (valid.length === 0) return ok({ items, replayed: false });

	const only = valid.length === 1 && inputs.length === 1 ? valid[0] : undefined;
	if (only) {
		const outcome = await submitOne(only.input, sender, deps, idempotency);
		if (!outcome.ok) return err({ error: outcome.error, index: 0 });
		return ok({ items: [{ ok: true, id: (outcome.value.body as Accepted).id }], replayed: outcome.value.replayed });
	}
	const outcome = await submitBatch(
		valid.map((v) => v.input),
		sender,
		deps,
		idempotency,
	);
	if (!outcome.ok) return err({ error: outcome.error, index: valid[0]?.index ?? 0 });
	const body = outcome.value.body as BatchResponse;
	body.data.forEach((result, j) => {
		const index = valid[j]?.index;
		if (index === undefined) return;
		items[index] =
			"id" in result
				? { ok: true, id: result.id }
				: { ok: false, error: new ApiError(result.error.code, result.error.message) };
	});
	if (mode === "all_or_nothing") {
		const unconfirmed = items.findIndex((i) => !i.ok);
		const item = items[unconfirmed];
		if (item && !item.ok) return err({ error: item.error, index: unconfirmed });
	}
	return ok({ items, replayed: outcome.value.replayed });
}
