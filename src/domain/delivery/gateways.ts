// Which gateway delivers a message, until routing lands (issue 8): test keys and sandbox workspaces
// always capture in the sandbox; otherwise the workspace's enabled gateway with the lowest priority
// number. Drivers are built once per consumer batch from decrypted credentials and config.
import type { GatewayRow } from "../../db/repositories/delivery";
import { decryptSecret } from "../../lib/crypto";
import { buildGateway } from "../../providers/registry";
import { SANDBOX_GATEWAY_ID, sandboxGateway } from "../../providers/sandbox";
import type { DriverContext, Gateway } from "../../providers/types";

export type GatewayDeps = DriverContext & {
	encryptionKey: string;
	/** Longest one delivery call may take before it counts as a temporary failure. */
	timeoutMs: number;
};

export type GatewayChoice =
	| { ok: true; gateway: Gateway }
	/** `none`: nothing to send through; `config`: the chosen gateway cannot be built (counts as auth). */
	| { ok: false; kind: "none" | "config"; gatewayId: string | null; reason: string };

export class GatewayPicker {
	private readonly built = new Map<string, Promise<GatewayChoice>>();

	constructor(
		private readonly rows: readonly GatewayRow[],
		private readonly deps: GatewayDeps,
	) {}

	pick(workspaceId: string, sandbox: boolean): Promise<GatewayChoice> {
		const own = this.rows.filter((g) => g.workspace_id === workspaceId);
		if (sandbox) {
			const row = own.find((g) => g.type === "sandbox");
			return Promise.resolve({ ok: true, gateway: sandboxGateway(this.deps.bodies, row?.id ?? SANDBOX_GATEWAY_ID) });
		}
		const first = own[0];
		if (!first) {
			return Promise.resolve({
				ok: false,
				kind: "none",
				gatewayId: null,
				reason: "no enabled gateway is configured for this workspace",
			});
		}
		let choice = this.built.get(first.id);
		if (!choice) {
			choice = this.build(first);
			this.built.set(first.id, choice);
		}
		return choice;
	}

	private async build(row: GatewayRow): Promise<GatewayChoice> {
		let credentials: Record<string, unknown> = {};
		try {
			if (row.credentials_enc) {
				credentials = JSON.parse(await decryptSecret(this.deps.encryptionKey, row.credentials_enc)) as Record<
					string,
					unknown
				>;
			}
		} catch {
			return { ok: false, kind: "config", gatewayId: row.id, reason: "the gateway's credentials cannot be decrypted" };
		}
		const config = JSON.parse(row.config) as Record<string, unknown>;
		const built = buildGateway({ id: row.id, type: row.type, config, credentials }, this.deps);
		if ("error" in built) return { ok: false, kind: "config", gatewayId: row.id, reason: built.error };
		return { ok: true, gateway: built };
	}
}
