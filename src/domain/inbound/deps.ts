// What receiveInbound needs, from the Worker's bindings and checked config: one builder for the
// Email Worker and the MX endpoints, so both run exactly the same path.
import type { Config, Env } from "../../env";
import { recordFeedback } from "../feedback/record";
import { classify } from "./classify";
import type { InboundDeps } from "./receive";

export function inboundDeps(env: Env, config: Config, source: InboundDeps["source"]): InboundDeps {
	const queues = { events: env.EVENTS_QUEUE, webhooks: env.WEBHOOKS_QUEUE };
	return {
		db: env.DB,
		bodies: env.BODIES,
		queues,
		verp: { signingKey: config.SIGNING_KEY, bounceDomain: config.BOUNCE_DOMAIN },
		classify: (raw) => classify(raw),
		recordFeedback: (items) => recordFeedback({ db: env.DB, queues }, items),
		source,
		now: Date.now,
	};
}
