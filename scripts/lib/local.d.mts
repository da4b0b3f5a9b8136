// Types for local.mjs, so TypeScript tests can drive the local set-up.
import type { ChildProcess } from "node:child_process";

export const ROOT: string;
export const DEMO_KEY: string;
export const DEMO_LIVE_KEY: string;
export const DEMO_DOMAIN: string;
export const DEV_VARS: string;
export const PLATFORM_TOKEN_PATTERN: RegExp;
export function ensureDevVars(path?: string): string;
export function readDevVars(path?: string): Record<string, string>;
export function applyMigrations(persistTo?: string, options?: { quiet?: boolean }): void;
export function seedDemo(persistTo?: string, options?: { quiet?: boolean }): void;
export function executeLocalSql(persistTo: string | undefined, sql: string, options?: { quiet?: boolean }): string;
export function startWorker(options?: {
	port?: number;
	persistTo?: string;
	extraArgs?: string[];
	inheritOutput?: boolean;
	vars?: Record<string, string>;
	detached?: boolean;
}): Promise<{ child: ChildProcess; url: string }>;
export function queryLocal(sql: string, persistTo?: string): Record<string, unknown>[];
