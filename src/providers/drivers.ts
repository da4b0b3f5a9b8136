// Every gateway type this build can send through, keyed by type. Each driver module exports its
// factory; the registry (registry.ts) is the only reader of this table.
import type { GatewayType } from "../db/schema";
import { createSandboxGateway } from "./sandbox";
import type { DriverFactory } from "./types";

export const DRIVERS: Partial<Record<GatewayType, DriverFactory>> = {
	sandbox: createSandboxGateway,
};
