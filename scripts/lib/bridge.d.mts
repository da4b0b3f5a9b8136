// Types for bridge.mjs, so TypeScript tests can start the SMTP bridge.
import type { ChildProcess } from "node:child_process";

export const BRIDGE_DIR: string;
export function startBridge(options?: {
	workerUrl?: string;
	env?: Record<string, string>;
	onLine?: (line: string) => void;
	detached?: boolean;
}): Promise<{ child: ChildProcess; ready: Record<string, unknown> }>;
