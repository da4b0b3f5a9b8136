// Helpers for consumer tests: jobs built as the API builds them, a D1 that fails on chosen batches,
// drivers registered for a test, and reads of what the consumer wrote.
import { env } from "cloudflare:workers";
import type { GatewayType } from "../../src/db/schema";
import type { SendJob } from "../../src/domain/messages/model";
import type { Env } from "../../src/env";
import { encryptSecret } from "../../src/lib/crypto";
import { newId, newMessageId } from "../../src/lib/ids";
import { DRIVERS } from "../../src/providers/drivers";
import type { DriverFactory, RecipientResult } from "../../src/providers/types";

export function job(workspaceId: string, domain: string, overrides: Partial<SendJob["message"] & object> = {}) {
	return async (): Promise<SendJob> => ({
		v: 1,
		kind: "accepted",
		id: await newMessageId(env.SIGNING_KEY, workspaceId),
		workspaceId,
		apiKeyId: null,
		sandbox: false,
		acceptedAt: Date.now(),
		message: {
			from: { email: `app@${domain}` },
			to: [{ email: "a@x.test" }],
			cc: [],
			bcc: [],
			replyTo: [],
			subject: "Hi",
			text: "Hi",
			headers: {},
			tags: [],
			metadata: {},
			...overrides,
		},
	});
}

/** A D1 binding whose `batch` calls with the given 1-based numbers throw, as an unavailable D1 would. */
export function failingDb(failOn: number[]): D1Database & { batches: number } {
	const real = env.DB;
	const wrapper = {
		batches: 0,
		prepare: (sql: string) => real.prepare(sql),
		async batch<T>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
			wrapper.batches++;
			if (failOn.includes(wrapper.batches)) throw new Error("D1_ERROR: simulated outage");
			return real.batch<T>(statements);
		},
	};
	return wrapper as unknown as D1Database & { batches: number };
}

/** Registers `factory` for `type` for the duration of `run`, with a gateway row of that type. */
export async function withDriver<T>(
	workspaceId: string,
	type: GatewayType,
	factory: DriverFactory,
	run: (gatewayId: string) => Promise<T>,
	options: { priority?: number; canRoute?: string[] } = {},
): Promise<T> {
	const id = newId("gw");
	await env.DB.prepare(
		"INSERT INTO gateways (id, workspace_id, name, type, priority, can_route, credentials_enc) VALUES (?, ?, ?, ?, ?, ?, ?)",
	)
		.bind(
			id,
			workspaceId,
			`test ${type} ${id}`,
			type,
			options.priority ?? 0,
			JSON.stringify(options.canRoute ?? []),
			await encryptSecret(env.ENCRYPTION_KEY, JSON.stringify({ token: "secret-token-1234" })),
		)
		.run();
	const previous = DRIVERS[type];
	DRIVERS[type] = factory;
	try {
		return await run(id);
	} finally {
		if (previous) DRIVERS[type] = previous;
		else delete DRIVERS[type];
	}
}

export type MessageState = {
	status: string;
	attempts: number;
	last_error: string | null;
	lease_token: string | null;
	lease_expires_at: number | null;
	next_attempt_at: number | null;
	provider_message_id: string | null;
};

export async function messageState(id: string): Promise<MessageState | null> {
	return env.DB.prepare(
		"SELECT status, attempts, last_error, lease_token, lease_expires_at, next_attempt_at, provider_message_id FROM messages WHERE id = ?",
	)
		.bind(id)
		.first<MessageState>();
}

export async function recipientStates(id: string) {
	const { results } = await env.DB.prepare(
		"SELECT email, status, attempts, last_error, provider_message_id FROM message_recipients WHERE message_id = ? ORDER BY email",
	)
		.bind(id)
		.all<{
			email: string;
			status: string;
			attempts: number;
			last_error: string | null;
			provider_message_id: string | null;
		}>();
	return results;
}

export async function eventTypes(id: string): Promise<string[]> {
	const { results } = await env.DB.prepare(
		"SELECT type, recipient FROM events WHERE message_id = ? ORDER BY created_at, rowid",
	)
		.bind(id)
		.all<{ type: string; recipient: string | null }>();
	return results.map((r) => (r.recipient ? `${r.type}:${r.recipient}` : r.type));
}

export const asEnv = (overrides: Record<string, unknown>) => overrides as Partial<Env>;

/** A driver whose answer per recipient the test decides, recording every call's recipients. */
export function scriptedDriver(answer: (email: string, call: number) => RecipientResult) {
	const calls: string[][] = [];
	const factory: DriverFactory = (spec) => ({
		id: spec.id,
		type: spec.type,
		async send(_message, envelope) {
			calls.push(envelope.recipients.map((r) => r.email));
			return { recipients: envelope.recipients.map((r) => answer(r.email, calls.length)) };
		},
	});
	return { factory, calls };
}

export const accepted = (email: string): RecipientResult => ({
	email,
	status: "accepted",
	providerMessageId: `p-${email}`,
});
export const unavailable = (email: string): RecipientResult => ({
	email,
	status: "temporary",
	response: "503 Service Unavailable",
});

/** A driver that accepts every recipient and records what it sent; `hold()` keeps sends open until `release()`. */
export function countingDriver() {
	const sends: string[][] = [];
	let release: () => void = () => {};
	let gate: Promise<void> | null = null;
	const factory: DriverFactory = (spec) => ({
		id: spec.id,
		type: spec.type,
		async send(message, envelope) {
			sends.push(envelope.recipients.map((r) => r.email));
			if (gate) await gate;
			return {
				recipients: envelope.recipients.map((r) => ({
					email: r.email,
					status: "accepted" as const,
					providerMessageId: `p-${message.id}`,
				})),
			};
		},
	});
	return {
		factory,
		sends,
		hold() {
			gate = new Promise((resolve) => {
				release = resolve;
			});
		},
		release: () => release(),
	};
}
