// Turns a configured gateway row into a driver. Drivers for the real providers arrive with the
// delivery-gateways issue; until then only the sandbox exists and any other type reports a
// configuration error, which the consumer records on the message instead of guessing.
import type { GatewayRow } from "../db/repositories/delivery";
import { SandboxGateway } from "./sandbox";
import type { DeliveryResult, Gateway } from "./types";

export type GatewayChoice = { gateway: Gateway } | { gateway: null; reason: string };

export function selectGateway(
	workspaceId: string,
	sandbox: boolean,
	gateways: readonly GatewayRow[],
	bodies: R2Bucket,
): GatewayChoice {
	const own = gateways.filter((g) => g.workspace_id === workspaceId);
	if (sandbox) {
		// Test keys and sandbox workspaces always capture, whatever else is configured.
		const row = own.find((g) => g.type === "sandbox");
		return { gateway: new SandboxGateway(bodies, row?.id) };
	}
	const first = own[0];
	if (!first) return { gateway: null, reason: "no enabled gateway is configured for this workspace" };
	if (first.type === "sandbox") return { gateway: new SandboxGateway(bodies, first.id) };
	return { gateway: null, reason: `gateway ${first.id} has type "${first.type}", which has no driver in this build` };
}

/** Races a delivery against its timeout; a timeout is a temporary failure (DESIGN.md table). */
export async function deliverWithTimeout(run: (signal: AbortSignal) => Promise<DeliveryResult>, timeoutMs: number) {
	const controller = new AbortController();
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<DeliveryResult>((resolve) => {
		timer = setTimeout(() => {
			controller.abort();
			resolve({ ok: false, kind: "temporary", message: `delivery timed out after ${timeoutMs} ms` });
		}, timeoutMs);
	});
	try {
		return await Promise.race([run(controller.signal), timeout]);
	} catch (error) {
		return { ok: false, kind: "temporary", message: `delivery threw: ${String(error)}` } satisfies DeliveryResult;
	} finally {
		if (timer !== undefined) clearTimeout(timer);
	}
}
