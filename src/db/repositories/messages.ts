// Reading messages back for the API: one D1 batch per email (row, recipients, events) and a keyset
// page for lists (newest first, the id being a ULID sorts by acceptance time).
import { and, desc, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import type { Db } from "../client";
import { events, type MessageStatus, messageRecipients, messages } from "../schema";

export type MessageRow = typeof messages.$inferSelect;
export type RecipientRecord = typeof messageRecipients.$inferSelect;
export type EventRecord = typeof events.$inferSelect;

// Events of one message can share a millisecond (Workers' clock advances only on I/O), so ties are
// broken by where the event sits in a message's life rather than by id.
const LIFECYCLE_RANK = sql`CASE ${events.type}
	WHEN 'scheduled' THEN 0 WHEN 'queued' THEN 1 WHEN 'processing' THEN 2 WHEN 'requeued' THEN 3 WHEN 'deferred' THEN 3
	WHEN 'sent' THEN 4 WHEN 'rejected' THEN 4 WHEN 'failed' THEN 4 WHEN 'cancelled' THEN 4
	WHEN 'delivered' THEN 5 WHEN 'bounced' THEN 5 ELSE 6 END`;

export type MessageDetail = { message: MessageRow; recipients: RecipientRecord[]; events: EventRecord[] };

export async function findMessage(db: Db, workspaceId: string, id: string): Promise<MessageDetail | null> {
	const [rows, recipients, history] = await db.batch([
		db
			.select()
			.from(messages)
			.where(and(eq(messages.workspaceId, workspaceId), eq(messages.id, id))),
		db.select().from(messageRecipients).where(eq(messageRecipients.messageId, id)),
		db
			.select()
			.from(events)
			.where(and(eq(events.messageId, id), eq(events.workspaceId, workspaceId)))
			.orderBy(events.createdAt, LIFECYCLE_RANK, events.id),
	]);
	const message = rows[0];
	return message ? { message, recipients, events: history } : null;
}

export type MessageFilter = {
	status?: MessageStatus | undefined;
	tag?: string | undefined;
	createdFrom?: number | undefined;
	createdTo?: number | undefined;
	/** Exclusive: the last id of the previous page. */
	beforeId?: string | undefined;
};

export async function listMessages(
	db: Db,
	workspaceId: string,
	filter: MessageFilter,
	limit: number,
): Promise<{ rows: (MessageRow & { toList: string | null })[]; hasMore: boolean }> {
	const conditions: SQL[] = [eq(messages.workspaceId, workspaceId)];
	if (filter.status) conditions.push(eq(messages.status, filter.status));
	if (filter.tag) conditions.push(sql`EXISTS (SELECT 1 FROM json_each(${messages.tags}) WHERE value = ${filter.tag})`);
	if (filter.createdFrom !== undefined) conditions.push(gte(messages.createdAt, filter.createdFrom));
	if (filter.createdTo !== undefined) conditions.push(lt(messages.createdAt, filter.createdTo));
	if (filter.beforeId) conditions.push(lt(messages.id, filter.beforeId));
	const toList = sql<string | null>`(SELECT json_group_array(json_object('email', r.email, 'name', r.name))
		FROM ${messageRecipients} r WHERE r.message_id = ${messages.id} AND r.kind = 'to')`;
	const rows = await db
		.select({ message: messages, toList })
		.from(messages)
		.where(and(...conditions))
		.orderBy(desc(messages.id))
		.limit(limit + 1);
	return {
		rows: rows.slice(0, limit).map((r) => ({ ...r.message, toList: r.toList })),
		hasMore: rows.length > limit,
	};
}
