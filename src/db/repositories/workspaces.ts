// Workspaces in D1: the settings a workspace's admin may read and change.
import { eq } from "drizzle-orm";
import type { Db } from "../client";
import { workspaces } from "../schema";

export type WorkspaceRecord = typeof workspaces.$inferSelect;
export type WorkspacePatch = { name?: string | undefined; sandboxMode?: boolean | undefined };

export async function findWorkspace(db: Db, id: string): Promise<WorkspaceRecord | null> {
	const [row] = await db.select().from(workspaces).where(eq(workspaces.id, id));
	return row ?? null;
}

export async function updateWorkspace(
	db: Db,
	id: string,
	patch: WorkspacePatch,
	now: number,
): Promise<WorkspaceRecord | null> {
	const [row] = await db
		.update(workspaces)
		.set({
			...(patch.name !== undefined ? { name: patch.name } : {}),
			...(patch.sandboxMode !== undefined ? { sandboxMode: patch.sandboxMode } : {}),
			updatedAt: now,
		})
		.where(eq(workspaces.id, id))
		.returning();
	return row ?? null;
}
