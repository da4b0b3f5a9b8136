// Delivering a consumer batch's rendered messages across gateways, with failover inside the attempt
// (DESIGN.md "Routing", issue 8): each round sends every pending recipient to its next untried
// gateway, asking each gateway's breaker once per round for the sends it will admit; a temporary or
// auth failure moves the recipient on to its next gateway, a permanent one ends it there. A recipient
// no gateway would take (all open, unhealthy or out of quota) is held, never failed. Each recipient is
// sent at most once per gateway per attempt.
import { deliverWithTimeout } from "../../providers/registry";
import type { Envelope, Gateway, RecipientResult, RenderedMessage } from "../../providers/types";
import type { Admission, OutcomeReport } from "../routing/breaker-types";
import type { DriverChoice } from "./gateways";

/** The breakers as the dispatcher uses them: one `admit` per gateway per round, one `report` per gateway. */
export type Breakers = {
	admit(gatewayId: string, wanted: number): Promise<Admission>;
	report(gatewayId: string, report: OutcomeReport): Promise<void>;
};

/** No breakers: every send admitted (the sandbox, and the fail-open fallback). */
export const NO_BREAKERS: Breakers = {
	admit: async (_id, wanted) => ({ granted: wanted, state: "closed", retryAt: null, reason: "ok", epoch: 0 }),
	report: async () => {},
};

export type DispatchJob = {
	id: string;
	message: RenderedMessage;
	envelope: Envelope;
	/** Per envelope recipient, the gateways to try in order. */
	candidates: ReadonlyMap<string, readonly string[]>;
};

export type DeliveredRecipient = RecipientResult & { gatewayId: string; gatewaysTried: string[] };

export type Held = { email: string; until: number | null; reason: string };

export type Dispatched = { recipients: DeliveredRecipient[]; held: Held[]; mimeKey: string | null };

export type DispatchDeps = {
	driver: (gatewayId: string) => Promise<DriverChoice>;
	breakers: Breakers;
	/** Builds the envelope of one call to a subset of the recipients. */
	subEnvelope: (job: DispatchJob, emails: string[]) => Promise<Envelope>;
	timeoutMs: number;
	now: () => number;
};

type Pending = { job: DispatchJob; email: string; tried: string[]; last: DeliveredRecipient | null };

type Call = { job: DispatchJob; gatewayId: string; pending: Pending[] };

export async function dispatch(jobs: readonly DispatchJob[], deps: DispatchDeps): Promise<Map<string, Dispatched>> {
	const out = new Map<string, Dispatched>(jobs.map((j) => [j.id, { recipients: [], held: [], mimeKey: null }]));
	let pending: Pending[] = jobs.flatMap((job) =>
		job.envelope.recipients.map((r) => ({ job, email: r.email, tried: [], last: null })),
	);
	/** Gateways out for the rest of this batch (refused admission or could not be built), and when they may be back. */
	const blocked = new Map<string, { until: number | null; reason: string }>();
	const reports = new Map<string, OutcomeReport>();

	while (pending.length > 0) {
		const calls = new Map<string, Call>();
		const next: Pending[] = [];
		for (const p of pending) {
			const gatewayId = (p.job.candidates.get(p.email) ?? []).find((id) => !p.tried.includes(id) && !blocked.has(id));
			if (!gatewayId) {
				settle(out, p, blocked);
				continue;
			}
			const key = `${gatewayId}\n${p.job.id}`;
			const call = calls.get(key) ?? { job: p.job, gatewayId, pending: [] };
			call.pending.push(p);
			calls.set(key, call);
		}
		if (calls.size === 0) break;

		const byGateway = new Map<string, Call[]>();
		for (const call of calls.values()) byGateway.set(call.gatewayId, [...(byGateway.get(call.gatewayId) ?? []), call]);
		const admitted = await Promise.all(
			[...byGateway.entries()].map(async ([gatewayId, list]) => {
				const driver = await deps.driver(gatewayId);
				if (!driver.ok) {
					// A gateway that cannot be built answers every recipient as a configuration (auth) failure.
					return list.map((call) => ({ call, gateway: null, reason: driver.reason }));
				}
				const admission = await deps.breakers.admit(gatewayId, list.length);
				if (admission.granted < list.length) {
					blocked.set(gatewayId, { until: admission.retryAt, reason: `gateway ${gatewayId}: ${admission.reason}` });
				}
				const report = reports.get(gatewayId) ?? { admitted: 0, successes: 0, failures: 0, latenciesMs: [] };
				report.admitted += admission.granted;
				reports.set(gatewayId, report);
				return list.map((call, i) => ({ call, gateway: i < admission.granted ? driver.gateway : null, reason: null }));
			}),
		);
		await Promise.all(
			admitted.flat().map(async ({ call, gateway, reason }) => {
				if (!gateway && reason === null) {
					// Not admitted this round: the recipients try their next gateway.
					next.push(...call.pending);
					return;
				}
				const sent = gateway
					? await send(call, gateway, deps, reports)
					: {
							recipients: call.pending.map((p) => ({
								email: p.email,
								status: "auth" as const,
								response: reason ?? "unavailable",
							})),
						};
				const dispatched = out.get(call.job.id);
				if (dispatched && "mimeKey" in sent && sent.mimeKey) dispatched.mimeKey = sent.mimeKey;
				const byEmail = new Map<string, RecipientResult>(sent.recipients.map((r) => [r.email, r]));
				for (const p of call.pending) {
					p.tried.push(call.gatewayId);
					const result: RecipientResult = byEmail.get(p.email) ?? {
						email: p.email,
						status: "temporary",
						response: "the gateway gave no result for this recipient",
					};
					p.last = { ...result, gatewayId: call.gatewayId, gatewaysTried: [...p.tried] };
					if (result.status === "accepted" || result.status === "permanent") dispatched?.recipients.push(p.last);
					else next.push(p);
				}
			}),
		);
		pending = next;
	}
	// A gateway that admitted and sent nothing has nothing to report.
	const worth = [...reports.entries()].filter(([, r]) => r.admitted > 0 || r.latenciesMs.length > 0);
	await Promise.all(worth.map(([id, report]) => deps.breakers.report(id, report)));
	return out;
}

/** A recipient with no gateway left: its last failure if it was tried, else held. */
function settle(
	out: Map<string, Dispatched>,
	p: Pending,
	blocked: ReadonlyMap<string, { until: number | null; reason: string }>,
) {
	const done = out.get(p.job.id);
	if (!done) return;
	if (p.last) {
		done.recipients.push(p.last);
		return;
	}
	const candidates = p.job.candidates.get(p.email) ?? [];
	const waits = candidates.flatMap((id) => {
		const b = blocked.get(id);
		return b ? [b] : [];
	});
	const until = waits.reduce<number | null>(
		(min, b) => (b.until !== null && (min === null || b.until < min) ? b.until : min),
		null,
	);
	const reason =
		candidates.length === 0
			? "no gateway of this workspace may deliver to this recipient"
			: (waits[0]?.reason ?? "no gateway is available");
	done.held.push({ email: p.email, until, reason });
}

async function send(
	call: Call,
	gateway: Gateway,
	deps: DispatchDeps,
	reports: Map<string, OutcomeReport>,
): Promise<{ recipients: RecipientResult[]; mimeKey?: string | undefined }> {
	const emails = call.pending.map((p) => p.email);
	const envelope = await deps.subEnvelope(call.job, emails);
	const started = deps.now();
	const result = await deliverWithTimeout((signal) => gateway.send(call.job.message, envelope, signal), deps.timeoutMs);
	const report = reports.get(call.gatewayId);
	if (report) report.latenciesMs.push(deps.now() - started);
	if ("timedOut" in result) {
		if (report) report.failures++;
		return { recipients: emails.map((email) => ({ email, status: "temporary" as const, response: result.message })) };
	}
	if (report) {
		const failed = result.recipients.filter((r) => r.status === "temporary" || r.status === "auth").length;
		// A call counts against the breaker when it failed for every recipient it carried.
		if (failed > 0 && failed === result.recipients.length) report.failures++;
		else if (result.recipients.some((r) => r.status === "accepted")) report.successes++;
	}
	return result;
}
