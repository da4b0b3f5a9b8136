// A suppression list as the API shows it (docs/suppressions.md): add one or many entries, page
// through them, read and remove one. The same functions serve a workspace's list and the platform's.
import {
	deleteSuppression,
	findSuppression,
	type ListOwner,
	listSuppressions,
	type SuppressionFilter,
	type SuppressionRecord,
	upsertSuppressions,
} from "../../db/repositories/suppressions";
import type { SuppressionReason } from "../../db/schema";
import { ApiError, err, ok, type Result } from "../../errors";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";

export type { ListOwner };

/** Entries one POST may add. */
export const MAX_SUPPRESSIONS_PER_REQUEST = 1000;

export type SuppressionView = {
	id: string;
	email: string;
	reason: SuppressionReason;
	source_message_id: string | null;
	expires_at: string | null;
	/** False once `expires_at` has passed: the entry no longer suppresses. */
	active: boolean;
	created_at: string;
};

export type SuppressionInput = { email: string; reason: SuppressionReason; expiresAt: number | null };

export function suppressionView(row: SuppressionRecord, now = Date.now()): SuppressionView {
	return {
		id: row.id,
		email: row.email,
		reason: row.reason,
		source_message_id: row.source_message_id,
		expires_at: iso(row.expires_at),
		active: row.expires_at === null || row.expires_at > now,
		created_at: iso(row.created_at),
	};
}

/** Addresses are matched whole and case-insensitively. */
export const suppressionKey = (email: string) => email.trim().toLowerCase();

export async function addSuppressions(
	db: D1Database,
	owner: ListOwner,
	inputs: readonly SuppressionInput[],
	now = Date.now(),
): Promise<SuppressionView[]> {
	// The last entry for an address wins, as it would in separate calls.
	const byEmail = new Map(inputs.map((i) => [suppressionKey(i.email), i]));
	const rows = await upsertSuppressions(
		db,
		owner,
		[...byEmail].map(([email, i]) => ({ id: newId("sup"), email, reason: i.reason, expires_at: i.expiresAt })),
		now,
	);
	return rows.map((r) => suppressionView(r, now));
}

const missing = () => err(new ApiError("not_found", "This address is not on the suppression list."));

export async function suppressionOf(
	db: D1Database,
	owner: ListOwner,
	email: string,
): Promise<Result<SuppressionView, ApiError>> {
	const row = await findSuppression(db, owner, suppressionKey(email));
	return row ? ok(suppressionView(row)) : missing();
}

export async function removeSuppression(
	db: D1Database,
	owner: ListOwner,
	email: string,
): Promise<Result<true, ApiError>> {
	return (await deleteSuppression(db, owner, suppressionKey(email))) ? ok(true) : missing();
}

export type SuppressionPage = { data: SuppressionView[]; has_more: boolean; next_cursor: string | null };

export async function suppressionsOf(
	db: D1Database,
	owner: ListOwner,
	filter: SuppressionFilter,
	limit: number,
): Promise<SuppressionPage> {
	const { rows, hasMore } = await listSuppressions(
		db,
		owner,
		{ ...filter, prefix: filter.prefix?.toLowerCase(), domain: filter.domain?.toLowerCase() },
		limit,
	);
	const now = Date.now();
	const last = rows.at(-1);
	return {
		data: rows.map((r) => suppressionView(r, now)),
		has_more: hasMore,
		next_cursor: hasMore && last ? last.id : null,
	};
}
