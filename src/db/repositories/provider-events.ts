// What provider event webhooks read and write in D1: the gateway a webhook URL names, the signature
// tokens already used (Mailgun replays), and our message ids for provider message ids.
import { and, eq, inArray, lt } from "drizzle-orm";
import type { Db } from "../client";
import { gateways, messageRecipients, messages, providerWebhookTokens } from "../schema";
import type { GatewayRecord } from "./gateways";

/** D1 binds at most 100 parameters per statement; one is the workspace id. */
const IDS_PER_QUERY = 90;

/** The gateway by id alone: the webhook URL is the only thing that names it. */
export async function findGatewayById(db: Db, id: string): Promise<GatewayRecord | null> {
	const [row] = await db.select().from(gateways).where(eq(gateways.id, id));
	return row ?? null;
}

/**
 * Records a signature token as used, and drops the gateway's expired ones in the same round trip.
 * False when the token was already there: a replay.
 */
export async function claimWebhookToken(
	db: Db,
	workspaceId: string,
	gatewayId: string,
	token: string,
	expiresAt: number,
	now: number,
): Promise<boolean> {
	const [, inserted] = await db.batch([
		db
			.delete(providerWebhookTokens)
			.where(and(eq(providerWebhookTokens.gatewayId, gatewayId), lt(providerWebhookTokens.expiresAt, now))),
		db
			.insert(providerWebhookTokens)
			.values({ workspaceId, gatewayId, token, expiresAt })
			.onConflictDoNothing()
			.returning({ token: providerWebhookTokens.token }),
	]);
	return inserted.length > 0;
}

/** Forgets a token whose events could not be recorded, so the provider's retry is not refused. */
export async function releaseWebhookToken(db: Db, gatewayId: string, token: string): Promise<void> {
	await db
		.delete(providerWebhookTokens)
		.where(and(eq(providerWebhookTokens.gatewayId, gatewayId), eq(providerWebhookTokens.token, token)));
}

/**
 * Our message ids for provider message ids, within one workspace, in one batch. Drivers store the
 * id as the provider answered it, which for Mailgun has angle brackets; both forms are matched and
 * the map is keyed by the bare id.
 */
export async function messageIdsByProviderIds(
	db: Db,
	workspaceId: string,
	providerIds: readonly string[],
): Promise<Map<string, string>> {
	const found = new Map<string, string>();
	const wanted = [...new Set(providerIds.flatMap((id) => [id, `<${id}>`]))];
	if (wanted.length === 0) return found;
	const chunks: string[][] = [];
	for (let i = 0; i < wanted.length; i += IDS_PER_QUERY) chunks.push(wanted.slice(i, i + IDS_PER_QUERY));
	const queries = chunks.map((chunk) =>
		db
			.selectDistinct({ providerId: messageRecipients.providerMessageId, messageId: messageRecipients.messageId })
			.from(messageRecipients)
			.innerJoin(messages, eq(messages.id, messageRecipients.messageId))
			.where(and(eq(messages.workspaceId, workspaceId), inArray(messageRecipients.providerMessageId, chunk))),
	);
	const [first, ...rest] = queries;
	if (!first) return found;
	const results = await db.batch([first, ...rest]);
	for (const row of results.flat()) {
		if (row.providerId) found.set(row.providerId.replace(/^<|>$/g, ""), row.messageId);
	}
	return found;
}
