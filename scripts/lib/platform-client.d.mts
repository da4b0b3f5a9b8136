// Types for platform-client.mjs, so the node tests can check how the CLI picks its target.
export const ENVIRONMENTS: string[];
export const REQUEST_TIMEOUT_MS: number;
export class CliError extends Error {}
export function envVarNames(environment: string): { url: string; token: string };
export function resolveTarget(
	options: { env?: string; url?: string; token?: string },
	processEnv?: Record<string, string | undefined>,
	devVars?: string,
): { environment: string; url: string; token: string };
