// Writing what a check or an operator decided: the domain's changes and their event in one D1
// batch, then the event published and the workspace's cached principals dropped, so who may send
// changes at once in this isolate.
import type { Db } from "../../db/client";
import { type DomainRecord, type DomainUpdate, saveDomainUpdates } from "../../db/repositories/domains";
import type { RecordCheck } from "../../db/schema";
import { newId } from "../../lib/ids";
import { forgetWorkspace } from "../domains";
import { type EventQueues, publishEvents } from "../events/emitter";
import { afterOwnershipCheck, type Transition } from "./lifecycle";
import { ownershipRecord } from "./records";

export type Outcome = { workspaceId: string; update: DomainUpdate; statusChanged: boolean };

/** The outcome of a transition: its changes, plus its event when it has one. */
export function transitionOutcome(
	domain: DomainRecord,
	transition: Transition,
	extra: DomainUpdate["changes"],
	now: number,
	by?: string,
): Outcome {
	const { changes, event } = transition;
	const update: DomainUpdate = { id: domain.id, changes: { ...changes, ...extra } };
	if (event) {
		update.event = {
			id: newId("evt"),
			workspaceId: domain.workspaceId,
			messageId: null,
			recipient: null,
			type: event,
			data: {
				domain_id: domain.id,
				domain: domain.name,
				...(by ? { by } : {}),
				...(changes.failureReason ? { reason: changes.failureReason } : {}),
			},
			createdAt: now,
		};
	}
	const statusChanged = changes.status !== undefined && changes.status !== domain.status;
	return { workspaceId: domain.workspaceId, update, statusChanged };
}

/** The outcome of checking `checks` (the ownership one decides). */
export function checkOutcome(
	domain: DomainRecord,
	checks: Record<string, RecordCheck>,
	now: number,
	manual: boolean,
): Outcome {
	const record = ownershipRecord(domain.name, domain.verificationToken);
	const ownership = checks.ownership ?? { expected: record.value, status: "unchecked" as const, at: now };
	const transition = afterOwnershipCheck(domain, record, ownership, now, manual);
	const extra = { lastCheckedAt: now, recordChecks: { ...domain.recordChecks, ...checks } };
	return transitionOutcome(domain, transition, extra, now, "dns");
}

export async function commitOutcomes(
	db: Db,
	queues: EventQueues,
	outcomes: readonly Outcome[],
): Promise<DomainRecord[]> {
	const saved = await saveDomainUpdates(
		db,
		outcomes.map((o) => o.update),
	);
	for (const workspaceId of new Set(outcomes.filter((o) => o.statusChanged).map((o) => o.workspaceId))) {
		forgetWorkspace(workspaceId);
	}
	const events = outcomes.flatMap((o) => (o.update.event ? [o.update.event] : []));
	await publishEvents(
		events.map((e) => ({
			id: e.id,
			workspace_id: e.workspaceId,
			message_id: null,
			recipient: null,
			type: e.type,
			data: JSON.stringify(e.data ?? {}),
			created_at: e.createdAt,
		})),
		queues,
	);
	return saved;
}
