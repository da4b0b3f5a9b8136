// Routing rules (POST/GET /v1/routing-rules, GET/PATCH/DELETE /v1/routing-rules/{id}; docs/routing.md
// "Rules"): the API's snake_case match is stored with the camelCase keys router.ts reads. A rule pins
// gateways, a strategy, or both, and only names gateways of its own workspace.
import type { Db } from "../../db/client";
import {
	deleteRule,
	findRule,
	insertRule,
	listRules,
	type RuleChanges,
	type RuleRecord,
	updateRule,
} from "../../db/repositories/routing";
import { ApiError, err, ok, type Result } from "../../errors";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";
import type { RuleMatch, Strategy } from "./router";
import { checkGatewayIds } from "./settings";

export type MatchInput = {
	sender_domain?: string | undefined;
	recipient_domain?: string | undefined;
	tag?: string | undefined;
	header?: { name: string; value: string } | undefined;
};

export type RuleInput = {
	name: string;
	position?: number | undefined;
	match: MatchInput;
	strategy?: Strategy | null | undefined;
	gateway_ids?: string[] | undefined;
	enabled?: boolean | undefined;
};
export type RulePatch = Partial<RuleInput>;

export type RuleView = {
	id: string;
	name: string;
	position: number;
	match: {
		sender_domain: string | null;
		recipient_domain: string | null;
		tag: string | null;
		header: { name: string; value: string } | null;
	};
	strategy: Strategy | null;
	gateway_ids: string[];
	enabled: boolean;
	created_at: string;
	updated_at: string;
};

export const DEFAULT_RULE_POSITION = 100;

function stored(match: MatchInput): RuleMatch {
	const out: RuleMatch = {};
	if (match.sender_domain !== undefined) out.senderDomain = match.sender_domain;
	if (match.recipient_domain !== undefined) out.recipientDomain = match.recipient_domain;
	if (match.tag !== undefined) out.tag = match.tag;
	if (match.header !== undefined) out.header = match.header;
	return out;
}

function view(row: RuleRecord): RuleView {
	return {
		id: row.id,
		name: row.name,
		position: row.position,
		match: {
			sender_domain: row.match.senderDomain ?? null,
			recipient_domain: row.match.recipientDomain ?? null,
			tag: row.match.tag ?? null,
			header: row.match.header ?? null,
		},
		strategy: row.strategy,
		gateway_ids: row.gatewayIds,
		enabled: row.enabled,
		created_at: iso(row.createdAt),
		updated_at: iso(row.updatedAt),
	};
}

const missing = () => new ApiError("not_found", "No routing rule with this id in this workspace.");
const pinsNothing = () =>
	new ApiError("validation_error", "a rule needs a strategy, gateway_ids, or both", [
		{ path: "strategy", message: "a rule needs a strategy, gateway_ids, or both" },
	]);

export async function createRule(db: Db, workspaceId: string, input: RuleInput): Promise<Result<RuleView>> {
	const gatewayIds = input.gateway_ids ?? [];
	if (!input.strategy && gatewayIds.length === 0) return err(pinsNothing());
	const checked = await checkGatewayIds(db, workspaceId, gatewayIds, "gateway_ids");
	if (!checked.ok) return checked;
	const row = await insertRule(db, {
		id: newId("rr"),
		workspaceId,
		name: input.name,
		position: input.position ?? DEFAULT_RULE_POSITION,
		match: stored(input.match),
		strategy: input.strategy ?? null,
		gatewayIds,
		enabled: input.enabled ?? true,
	});
	return ok(view(row));
}

export async function rulesOf(db: Db, workspaceId: string): Promise<RuleView[]> {
	return (await listRules(db, workspaceId)).map(view);
}

export async function ruleOf(db: Db, workspaceId: string, id: string): Promise<RuleView | null> {
	const row = await findRule(db, workspaceId, id);
	return row ? view(row) : null;
}

/** Changes a rule; `match` replaces the stored match whole, and the result must still pin something. */
export async function changeRule(db: Db, workspaceId: string, id: string, patch: RulePatch): Promise<Result<RuleView>> {
	const row = await findRule(db, workspaceId, id);
	if (!row) return err(missing());
	const changes: RuleChanges = {};
	if (patch.name !== undefined) changes.name = patch.name;
	if (patch.position !== undefined) changes.position = patch.position;
	if (patch.match !== undefined) changes.match = stored(patch.match);
	if (patch.strategy !== undefined) changes.strategy = patch.strategy;
	if (patch.gateway_ids !== undefined) changes.gatewayIds = patch.gateway_ids;
	if (patch.enabled !== undefined) changes.enabled = patch.enabled;
	const strategy = changes.strategy !== undefined ? changes.strategy : row.strategy;
	const gatewayIds = changes.gatewayIds ?? row.gatewayIds;
	if (!strategy && gatewayIds.length === 0) return err(pinsNothing());
	if (patch.gateway_ids !== undefined) {
		const checked = await checkGatewayIds(db, workspaceId, patch.gateway_ids, "gateway_ids");
		if (!checked.ok) return checked;
	}
	const updated = await updateRule(db, workspaceId, id, changes, Date.now());
	return updated ? ok(view(updated)) : err(missing());
}

export function removeRule(db: Db, workspaceId: string, id: string): Promise<boolean> {
	return deleteRule(db, workspaceId, id);
}
