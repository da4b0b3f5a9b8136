// What the platform API decides about workspaces: creation with a first admin key (shown once),
// listing, changes (name, sandbox mode, suspension, platform limits) and deletion, which suspends at
// once and leaves the purge to the cron (purge.ts). A change of state drops this isolate's cached
// keys of the workspace at once; other isolates follow within PRINCIPAL_CACHE_MS.
import type { Db } from "../../db/client";
import {
	type AuditRow,
	findWorkspaceByRef,
	insertKeyWithAudit,
	insertWorkspaceWithKey,
	listWorkspaces,
	markForDeletion,
	type PlatformPatch,
	patchWorkspace,
	type WorkspaceFilter,
} from "../../db/repositories/platform";
import type { WorkspaceRecord } from "../../db/repositories/workspaces";
import type { ApiKeyScope } from "../../db/schema";
import { ApiError, err, ok, type Result } from "../../errors";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";
import { type CreatedKey, keyView, newKeyRow } from "../auth/key-admin";
import type { KeyMode } from "../auth/keys";
import { forgetPrincipals } from "../auth/principal";
import { PURGE_GRACE_MS } from "./purge";

export type Limits = { daily: number | null; monthly: number | null; per_sender_daily: number | null };

export type PlatformWorkspaceView = {
	id: string;
	slug: string;
	name: string;
	status: "active" | "suspended" | "deleting";
	sandbox_mode: boolean;
	limits: Limits;
	deletion: {
		requested_at: string;
		purge_starts_at: string;
		rows_deleted: number;
		objects_deleted: number;
		runs: number;
		last_run_at: string | null;
	} | null;
	created_at: string;
	updated_at: string;
};

export function platformView(w: WorkspaceRecord): PlatformWorkspaceView {
	const requested = w.deletionRequestedAt;
	const purge = w.purge ?? { rowsDeleted: 0, objectsDeleted: 0, runs: 0, lastRunAt: null };
	return {
		id: w.id,
		slug: w.slug,
		name: w.name,
		status: requested !== null ? "deleting" : w.status,
		sandbox_mode: w.sandboxMode,
		limits: { daily: w.dailyLimit, monthly: w.monthlyLimit, per_sender_daily: w.perSenderDailyLimit },
		deletion:
			requested === null
				? null
				: {
						requested_at: iso(requested),
						purge_starts_at: iso(requested + PURGE_GRACE_MS),
						rows_deleted: purge.rowsDeleted,
						objects_deleted: purge.objectsDeleted,
						runs: purge.runs,
						last_run_at: iso(purge.lastRunAt),
					},
		created_at: iso(w.createdAt),
		updated_at: iso(w.updatedAt),
	};
}

/** Who asked, for the audit log: the platform token has no identity beyond where the call came from. */
export type Origin = { ip: string | null; userAgent: string | null };

type Action =
	| "workspace.created"
	| "workspace.updated"
	| "workspace.suspended"
	| "workspace.resumed"
	| "workspace.deletion_requested"
	| "api_key.created";

function auditRow(
	workspaceId: string,
	action: Action,
	resource: { type: string; id: string },
	changes: Record<string, unknown>,
	origin: Origin,
	now: number,
): AuditRow {
	return {
		id: newId("aud"),
		workspaceId,
		actorType: "platform",
		action,
		resourceType: resource.type,
		resourceId: resource.id,
		changes,
		ip: origin.ip,
		userAgent: origin.userAgent?.slice(0, 256) ?? null,
		createdAt: now,
	};
}

export type NewWorkspaceInput = { slug: string; name: string; sandboxMode: boolean; limits: Partial<Limits> };

export type KeyInput = { name: string; mode: KeyMode; scopes: ApiKeyScope[] };

const FIRST_KEY: KeyInput = { name: "Admin key (created by the platform)", mode: "live", scopes: ["admin"] };

export async function createWorkspace(
	db: Db,
	input: NewWorkspaceInput,
	origin: Origin,
	now = Date.now(),
): Promise<Result<{ workspace: PlatformWorkspaceView; api_key: CreatedKey }, ApiError>> {
	const id = newId("ws");
	const { secret, row } = await newKeyRow(id, { ...FIRST_KEY, ipAllowlist: [], expiresAt: null }, null);
	const created = await insertWorkspaceWithKey(
		db,
		{
			id,
			slug: input.slug,
			name: input.name,
			sandboxMode: input.sandboxMode,
			dailyLimit: input.limits.daily ?? null,
			monthlyLimit: input.limits.monthly ?? null,
			perSenderDailyLimit: input.limits.per_sender_daily ?? null,
			createdAt: now,
			updatedAt: now,
		},
		row,
		auditRow(id, "workspace.created", { type: "workspace", id }, { slug: input.slug, key_id: row.id }, origin, now),
	);
	if (!created) return err(new ApiError("conflict", `A workspace with the slug "${input.slug}" already exists.`));
	return ok({ workspace: platformView(created.workspace), api_key: { ...keyView(created.key), key: secret } });
}

export async function listPlatformWorkspaces(db: Db, filter: WorkspaceFilter, limit: number) {
	const { rows, hasMore } = await listWorkspaces(db, filter, limit);
	const last = rows.at(-1);
	return { data: rows.map(platformView), has_more: hasMore, next_cursor: hasMore && last ? last.id : null };
}

const missing = (ref: string) => err(new ApiError("not_found", `No workspace with the id or slug "${ref}".`));
const deleting = (w: WorkspaceRecord) =>
	err(new ApiError("conflict", `The workspace ${w.id} is being deleted; it can no longer be changed.`));

export async function getPlatformWorkspace(db: Db, ref: string): Promise<Result<PlatformWorkspaceView, ApiError>> {
	const found = await findWorkspaceByRef(db, ref);
	return found ? ok(platformView(found)) : missing(ref);
}

export type WorkspaceChange = {
	name?: string | undefined;
	sandboxMode?: boolean | undefined;
	suspended?: boolean | undefined;
	limits?: Partial<Limits> | undefined;
};

export async function changePlatformWorkspace(
	db: Db,
	ref: string,
	change: WorkspaceChange,
	origin: Origin,
	now = Date.now(),
): Promise<Result<PlatformWorkspaceView, ApiError>> {
	const found = await findWorkspaceByRef(db, ref);
	if (!found) return missing(ref);
	if (found.deletionRequestedAt !== null) return deleting(found);
	const patch: PlatformPatch = {
		name: change.name,
		sandboxMode: change.sandboxMode,
		status: change.suspended === undefined ? undefined : change.suspended ? "suspended" : "active",
		dailyLimit: change.limits?.daily,
		monthlyLimit: change.limits?.monthly,
		perSenderDailyLimit: change.limits?.per_sender_daily,
	};
	const action: Action =
		patch.status !== undefined && patch.status !== found.status
			? patch.status === "suspended"
				? "workspace.suspended"
				: "workspace.resumed"
			: "workspace.updated";
	const changes = Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined));
	const audit = auditRow(found.id, action, { type: "workspace", id: found.id }, changes, origin, now);
	const updated = await patchWorkspace(db, found.id, patch, audit, now);
	// Deleted between the read and the write.
	if (!updated) return deleting(found);
	forgetPrincipals((p) => p.workspaceId === found.id);
	if (action !== "workspace.updated")
		console.log("platform: workspace state changed", { workspaceId: found.id, action });
	return ok(platformView(updated));
}

export async function deletePlatformWorkspace(
	db: Db,
	ref: string,
	origin: Origin,
	now = Date.now(),
): Promise<Result<PlatformWorkspaceView, ApiError>> {
	const found = await findWorkspaceByRef(db, ref);
	if (!found) return missing(ref);
	const audit = auditRow(
		found.id,
		"workspace.deletion_requested",
		{ type: "workspace", id: found.id },
		{},
		origin,
		now,
	);
	const marked = await markForDeletion(db, found.id, audit, now);
	if (!marked) return missing(ref);
	forgetPrincipals((p) => p.workspaceId === found.id);
	console.log("platform: workspace deletion requested", { workspaceId: found.id });
	return ok(platformView(marked));
}

export async function createPlatformKey(
	db: Db,
	ref: string,
	input: KeyInput,
	origin: Origin,
	now = Date.now(),
): Promise<Result<CreatedKey, ApiError>> {
	const found = await findWorkspaceByRef(db, ref);
	if (!found) return missing(ref);
	if (found.deletionRequestedAt !== null) return deleting(found);
	const { secret, row } = await newKeyRow(found.id, { ...input, ipAllowlist: [], expiresAt: null }, null);
	const audit = auditRow(
		found.id,
		"api_key.created",
		{ type: "api_key", id: row.id },
		{ name: input.name, mode: input.mode, scopes: input.scopes },
		origin,
		now,
	);
	const created = await insertKeyWithAudit(db, row, audit);
	return ok({ ...keyView(created), key: secret });
}
