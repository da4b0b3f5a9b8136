// Inbound routes and received inbound mail in D1 (docs/inbound.md), plus the lookups the Email
// Worker needs about the relay's own messages (a bounce names one by id).
import { and, asc, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../client";
import { domains, events, inboundMessages, inboundRoutes, messageRecipients, messages } from "../schema";

export type InboundRouteRecord = typeof inboundRoutes.$inferSelect;
export type InboundMessageRecord = typeof inboundMessages.$inferSelect;

export async function insertInboundRoute(db: Db, row: typeof inboundRoutes.$inferInsert): Promise<InboundRouteRecord> {
	const [created] = await db.insert(inboundRoutes).values(row).returning();
	if (!created) throw new Error("inbound route insert returned no row");
	return created;
}

export function listInboundRoutes(db: Db, workspaceId: string, limit: number, before?: string) {
	return db
		.select()
		.from(inboundRoutes)
		.where(and(eq(inboundRoutes.workspaceId, workspaceId), before ? lt(inboundRoutes.id, before) : undefined))
		.orderBy(desc(inboundRoutes.id))
		.limit(limit);
}

export async function findInboundRoute(db: Db, workspaceId: string, id: string): Promise<InboundRouteRecord | null> {
	const [row] = await db
		.select()
		.from(inboundRoutes)
		.where(and(eq(inboundRoutes.workspaceId, workspaceId), eq(inboundRoutes.id, id)));
	return row ?? null;
}

export async function updateInboundRoute(
	db: Db,
	workspaceId: string,
	id: string,
	changes: Partial<Pick<InboundRouteRecord, "webhookUrl" | "enabled" | "secretEnc">>,
): Promise<InboundRouteRecord | null> {
	const [row] = await db
		.update(inboundRoutes)
		.set({ ...changes, updatedAt: Date.now() })
		.where(and(eq(inboundRoutes.workspaceId, workspaceId), eq(inboundRoutes.id, id)))
		.returning();
	return row ?? null;
}

export async function deleteInboundRoute(db: Db, workspaceId: string, id: string): Promise<boolean> {
	const rows = await db
		.delete(inboundRoutes)
		.where(and(eq(inboundRoutes.workspaceId, workspaceId), eq(inboundRoutes.id, id)))
		.returning({ id: inboundRoutes.id });
	return rows.length > 0;
}

/** A route of this exact pattern in the workspace (domain + address, or the domain catch-all). */
export async function findRouteByPattern(db: Db, workspaceId: string, domain: string, address: string | null) {
	const [row] = await db
		.select({ id: inboundRoutes.id })
		.from(inboundRoutes)
		.where(
			and(
				eq(inboundRoutes.workspaceId, workspaceId),
				eq(inboundRoutes.domain, domain),
				address === null ? isNull(inboundRoutes.address) : eq(inboundRoutes.address, address),
			),
		);
	return row ?? null;
}

/**
 * The enabled route for `address`, whose domain its workspace still has verified: an exact address
 * before the domain's catch-all, the oldest first.
 */
export async function matchInboundRoute(db: Db, address: string, domain: string): Promise<InboundRouteRecord | null> {
	const rows = await db
		.select({ route: inboundRoutes })
		.from(inboundRoutes)
		.innerJoin(
			domains,
			and(
				eq(domains.workspaceId, inboundRoutes.workspaceId),
				eq(domains.name, inboundRoutes.domain),
				eq(domains.status, "verified"),
			),
		)
		.where(
			and(
				eq(inboundRoutes.enabled, true),
				eq(inboundRoutes.domain, domain),
				or(eq(inboundRoutes.address, address), isNull(inboundRoutes.address)),
			),
		)
		.orderBy(sql`${inboundRoutes.address} IS NULL`, asc(inboundRoutes.createdAt), asc(inboundRoutes.id))
		.limit(1);
	return rows[0]?.route ?? null;
}

/** A verified domain of the workspace by name. */
export async function isVerifiedDomain(db: Db, workspaceId: string, name: string): Promise<boolean> {
	const [row] = await db
		.select({ id: domains.id })
		.from(domains)
		.where(and(eq(domains.workspaceId, workspaceId), eq(domains.name, name), eq(domains.status, "verified")));
	return row !== undefined;
}

/**
 * Stores a received message and its event in one D1 batch; a redelivered one (same id) changes
 * nothing. True when it is new.
 */
export async function insertInboundMessage(
	db: Db,
	row: typeof inboundMessages.$inferInsert,
	event: typeof events.$inferInsert | null,
): Promise<boolean> {
	const insert = db.insert(inboundMessages).values(row).onConflictDoNothing().returning({ id: inboundMessages.id });
	if (!event) return (await insert).length > 0;
	const [rows] = await db.batch([insert, db.insert(events).values(event).onConflictDoNothing()]);
	return rows.length > 0;
}

export async function findInboundMessage(db: Db, id: string): Promise<InboundMessageRecord | null> {
	const [row] = await db.select().from(inboundMessages).where(eq(inboundMessages.id, id));
	return row ?? null;
}

export async function markInboundWebhook(
	db: Db,
	id: string,
	state: { status: "pending" | "delivered" | "failed"; responseCode: number | null },
): Promise<void> {
	await db
		.update(inboundMessages)
		.set({
			webhookStatus: state.status,
			webhookResponseCode: state.responseCode,
			webhookAttempts: sql`${inboundMessages.webhookAttempts} + 1`,
		})
		.where(eq(inboundMessages.id, id));
}

export type MessageRef = { id: string; workspaceId: string; recipients: string[] };

/** A message of the relay by id, with its envelope recipients (any workspace: a bounce names only the id). */
export async function findMessageRef(db: Db, id: string): Promise<MessageRef | null> {
	const [message, recipients] = await db.batch([
		db.select({ id: messages.id, workspaceId: messages.workspaceId }).from(messages).where(eq(messages.id, id)),
		db.select({ email: messageRecipients.email }).from(messageRecipients).where(eq(messageRecipients.messageId, id)),
	]);
	const row = message[0];
	return row ? { ...row, recipients: [...new Set(recipients.map((r) => r.email))] } : null;
}
