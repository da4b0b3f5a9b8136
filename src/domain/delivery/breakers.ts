// The circuit breakers of a consumer batch (DESIGN.md "Circuit breaker"): the dispatcher's port onto
// each gateway's GatewayBreaker object, asked at most once per gateway per round and told once per
// gateway per batch. A gateway whose last known state is closed and that has no rate limits of its
// own is not asked at all (its state is cached for BREAKER_CACHE_MS), nor one that refused this
// isolate until a time still ahead; the sandbox never is.
// Failure mode: the client fails open, so an unreachable breaker delays nothing.

import { SANDBOX_GATEWAY_ID } from "../../providers/sandbox";
import {
	type BreakerNamespace,
	breakerFor,
	FAIL_OPEN_EPOCH,
	knownOpenUntil,
	mayAdmitWithoutAsking,
} from "../routing/breaker-client";
import { breakerConfigOf } from "../routing/breaker-config";
import type { Admission } from "../routing/breaker-types";
import type { Breakers } from "./dispatch";
import { NO_BREAKERS } from "./dispatch";
import type { GatewayPlan } from "./gateways";

export function gatewayBreakers(namespace: BreakerNamespace, plan: GatewayPlan): Breakers {
	/** Per gateway: the epoch of the last admission this batch asked for (null: it did not ask). */
	const asked = new Map<string, number | null>();
	const clientOf = (gatewayId: string) => {
		const row = plan.row(gatewayId);
		if (!row || row.type === "sandbox") return null;
		const config = breakerConfigOf(row);
		return { config, client: breakerFor(namespace, gatewayId, config) };
	};
	return {
		async admit(gatewayId, wanted): Promise<Admission> {
			const found = gatewayId === SANDBOX_GATEWAY_ID ? null : clientOf(gatewayId);
			if (!found) return NO_BREAKERS.admit(gatewayId, wanted);
			if (mayAdmitWithoutAsking(gatewayId, found.config)) {
				if (!asked.has(gatewayId)) asked.set(gatewayId, null);
				return { granted: wanted, state: "closed", retryAt: null, reason: "ok", epoch: FAIL_OPEN_EPOCH };
			}
			// Known open until a time still ahead: the breaker would refuse, so it is not asked.
			const openUntil = knownOpenUntil(gatewayId);
			if (openUntil !== null)
				return { granted: 0, state: "open", retryAt: openUntil, reason: "open", epoch: FAIL_OPEN_EPOCH };
			const admission = await found.client.admit(wanted);
			asked.set(gatewayId, admission.epoch);
			return admission;
		},
		async report(gatewayId, report) {
			const found = clientOf(gatewayId);
			if (!found) return;
			const epoch = asked.get(gatewayId);
			// Sends made without asking were never counted in flight, so none is released.
			await found.client.report(
				epoch === null || epoch === undefined ? { ...report, admitted: 0 } : { ...report, epoch },
			);
		},
	};
}
