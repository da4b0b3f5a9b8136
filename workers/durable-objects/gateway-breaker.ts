// GatewayBreaker (`gw:<gatewayId>`): the circuit breaker and rate windows of one delivery gateway.
// Declared here with its SQLite migration; its state machine lands with the routing issue
// (DESIGN.md "Circuit breaker").
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../src/env";

export class GatewayBreaker extends DurableObject<Env> {}
