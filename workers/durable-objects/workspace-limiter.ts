// WorkspaceLimiter (`ws:<workspaceId>`): per-workspace rate-limit windows (global, workspace daily,
// per-sender, queue per-minute). Declared here with its SQLite migration so deployments already have
// the class; its token logic lands with the rate-limits issue (DESIGN.md "Send consumer").
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../src/env";

export class WorkspaceLimiter extends DurableObject<Env> {}
