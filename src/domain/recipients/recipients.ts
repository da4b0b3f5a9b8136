// The recipients API (docs/recipients.md): every address a workspace has sent to, its status (moved by
// feedback, set by PUT), its custom fields and its history. The suppression list decides what is
// skipped: a PUT to UNSUBSCRIBED, BOUNCED or COMPLAINED adds the matching entry, ACTIVE removes it.
import {
	type DeliveryRecord,
	findRecipient,
	type HistoryEvent,
	listRecipients,
	putRecipient,
	type RecipientFilter,
	type RecipientRecord,
	type SuppressionState,
} from "../../db/repositories/recipients";
import { suppressionStatement } from "../../db/repositories/suppressions";
import type { RecipientStatus } from "../../db/schema";
import { ApiError, err, ok, type Result } from "../../errors";
import { normalizeEmail } from "../../lib/address";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";

export const API_STATUSES = ["ACTIVE", "INACTIVE", "BOUNCED", "UNSUBSCRIBED", "COMPLAINED"] as const;
export type ApiRecipientStatus = (typeof API_STATUSES)[number];

const toApi = (s: RecipientStatus) => s.toUpperCase() as ApiRecipientStatus;
const fromApi = (s: ApiRecipientStatus) => s.toLowerCase() as RecipientStatus;

/** The suppression a status set by PUT implies; ACTIVE lifts the workspace's entry, INACTIVE leaves it. */
const SUPPRESSION_OF: Record<ApiRecipientStatus, "unsubscribe" | "hard_bounce" | "complaint" | "remove" | null> = {
	ACTIVE: "remove",
	INACTIVE: null,
	BOUNCED: "hard_bounce",
	UNSUBSCRIBED: "unsubscribe",
	COMPLAINED: "complaint",
};

export type RecipientView = {
	email: string;
	name: string | null;
	status: ApiRecipientStatus;
	fields: Record<string, string>;
	sent_count: number;
	last_sent_at: string | null;
	bounce_count: number;
	last_bounce_at: string | null;
	last_event_at: string | null;
	created_at: string;
	updated_at: string | null;
};

export type RecipientDetailView = RecipientView & {
	suppression: { reason: string; list: "workspace" | "platform"; expires_at: string | null } | null;
	messages: {
		message_id: string;
		kind: string;
		status: string;
		subject: string;
		last_error: string | null;
		created_at: string;
	}[];
	events: { id: string; message_id: string | null; type: string; data: Record<string, unknown>; created_at: string }[];
};

function fieldsOf(metadata: string): Record<string, string> {
	try {
		const parsed = JSON.parse(metadata) as unknown;
		return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
	} catch {
		return {};
	}
}

function view(row: RecipientRecord): RecipientView {
	return {
		email: row.email,
		name: row.name,
		status: toApi(row.status),
		fields: fieldsOf(row.metadata),
		sent_count: row.sent_count,
		last_sent_at: iso(row.last_sent_at),
		bounce_count: row.bounce_count,
		last_bounce_at: iso(row.last_bounce_at),
		last_event_at: iso(row.last_event_at),
		created_at: iso(row.created_at),
		updated_at: iso(row.updated_at),
	};
}

const messageView = (d: DeliveryRecord) => ({
	message_id: d.message_id,
	kind: d.kind,
	status: d.status,
	subject: d.subject,
	last_error: d.last_error,
	created_at: iso(d.created_at),
});

const eventView = (e: HistoryEvent) => ({
	id: e.id,
	message_id: e.message_id,
	type: e.type,
	data: JSON.parse(e.data) as Record<string, unknown>,
	created_at: iso(e.created_at),
});

const suppressionView = (s: SuppressionState | null) =>
	s ? { reason: s.reason, list: s.list, expires_at: iso(s.expires_at) } : null;

/** The stored form (lower-case) and the form message rows keep (domain lower-cased). */
const keysOf = (email: string) => ({ key: email.trim().toLowerCase(), asSent: normalizeEmail(email.trim()) });

export async function recipientOf(
	db: D1Database,
	workspaceId: string,
	email: string,
	now = Date.now(),
): Promise<Result<RecipientDetailView, ApiError>> {
	const { key, asSent } = keysOf(email);
	const found = await findRecipient(db, workspaceId, key, asSent, now);
	if (!found.row && found.deliveries.length === 0) {
		return err(new ApiError("not_found", "This workspace has no recipient with this address."));
	}
	// Mail accepted but not yet delivered has no row yet: it is shown as a new, active recipient.
	const base = found.row ? view(found.row) : view(emptyRow(key, now));
	return ok({
		...base,
		suppression: suppressionView(found.suppression),
		messages: found.deliveries.map(messageView),
		events: found.events.map(eventView),
	});
}

function emptyRow(email: string, now: number): RecipientRecord {
	return {
		id: "",
		email,
		name: null,
		status: "active",
		metadata: "{}",
		sent_count: 0,
		last_sent_at: null,
		bounce_count: 0,
		last_bounce_at: null,
		last_event_at: null,
		created_at: now,
		updated_at: null,
	};
}

export type RecipientPage = { data: RecipientView[]; has_more: boolean; next_cursor: string | null };

export async function recipientsOf(
	db: D1Database,
	workspaceId: string,
	filter: Omit<RecipientFilter, "status"> & { status?: ApiRecipientStatus | undefined },
	limit: number,
): Promise<RecipientPage> {
	const { rows, hasMore } = await listRecipients(
		db,
		workspaceId,
		{
			status: filter.status ? fromApi(filter.status) : undefined,
			prefix: filter.prefix?.toLowerCase(),
			domain: filter.domain?.toLowerCase(),
			afterEmail: filter.afterEmail?.toLowerCase(),
		},
		limit,
	);
	const last = rows.at(-1);
	return { data: rows.map(view), has_more: hasMore, next_cursor: hasMore && last ? last.email : null };
}

export type RecipientChange = {
	status?: ApiRecipientStatus | undefined;
	name?: string | null | undefined;
	fields?: Record<string, string> | undefined;
};

export async function changeRecipient(
	db: D1Database,
	workspaceId: string,
	email: string,
	change: RecipientChange,
	now = Date.now(),
): Promise<RecipientView> {
	const { key } = keysOf(email);
	const effect = change.status ? SUPPRESSION_OF[change.status] : null;
	const suppression =
		effect === null
			? null
			: suppressionStatement(
					db,
					workspaceId,
					key,
					effect === "remove"
						? { remove: true }
						: { add: { id: newId("sup"), email: key, reason: effect, expires_at: null } },
					now,
				);
	const row = await putRecipient(
		db,
		workspaceId,
		key,
		{ status: change.status ? fromApi(change.status) : undefined, name: change.name, fields: change.fields },
		suppression,
		now,
	);
	return view(row);
}
