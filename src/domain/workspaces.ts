// The calling key's workspace: its settings as the API shows them, and changes to them. A change to
// sandbox_mode decides where live keys send, so this isolate's cached principals of the workspace
// are dropped at once (other isolates follow within PRINCIPAL_CACHE_MS).
import type { Db } from "../db/client";
import {
	findWorkspace,
	updateWorkspace,
	type WorkspacePatch,
	type WorkspaceRecord,
} from "../db/repositories/workspaces";
import { ApiError, err, ok, type Result } from "../errors";
import { iso } from "../lib/time";
import { forgetPrincipals } from "./auth/principal";

export type WorkspaceView = {
	id: string;
	slug: string;
	name: string;
	status: "active" | "suspended";
	sandbox_mode: boolean;
	created_at: string;
};

function view(w: WorkspaceRecord): WorkspaceView {
	return {
		id: w.id,
		slug: w.slug,
		name: w.name,
		status: w.status,
		sandbox_mode: w.sandboxMode,
		created_at: iso(w.createdAt),
	};
}

const missing = () => err(new ApiError("not_found", "The workspace of this API key no longer exists."));

export async function workspaceOf(db: Db, workspaceId: string): Promise<Result<WorkspaceView, ApiError>> {
	const row = await findWorkspace(db, workspaceId);
	return row ? ok(view(row)) : missing();
}

export async function changeWorkspace(
	db: Db,
	workspaceId: string,
	patch: WorkspacePatch,
	now = Date.now(),
): Promise<Result<WorkspaceView, ApiError>> {
	const row = await updateWorkspace(db, workspaceId, patch, now);
	if (!row) return missing();
	if (patch.sandboxMode !== undefined) forgetPrincipals((p) => p.workspaceId === workspaceId);
	return ok(view(row));
}
