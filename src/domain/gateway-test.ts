// `POST /v1/gateways/{id}/test`: the driver's cheapest credential check, or with `to` one real test
// message rendered here (a minimal mimetext message, not the full send pipeline). The outcome is
// recorded as the gateway's health.
import { createMimeMessage } from "mimetext/browser";
import type { Db } from "../db/client";
import { listDomains } from "../db/repositories/domains";
import { findGateway, type GatewayRecord, recordHealth } from "../db/repositories/gateways";
import { ApiError, err, ok, type Result } from "../errors";
import { randomToken } from "../lib/crypto";
import { CHECK_TIMEOUT_MS } from "../providers/http";
import { buildGateway } from "../providers/registry";
import {
	DELIVERY_TIMEOUT_MS,
	type DriverContext,
	type Gateway,
	type GatewayCheck,
	type RenderedMessage,
} from "../providers/types";
import { openCredentials } from "./gateways";

export type TestOutcome = { ok: boolean; latency_ms: number; detail: string };
export type TestRequest = { to?: string | undefined; from?: string | undefined };

export function testMessage(workspaceId: string, from: string, to: string, now = new Date()): RenderedMessage {
	const id = `gwtest_${randomToken(12)}`;
	const messageIdHeader = `<${id.toLowerCase()}@${from.slice(from.lastIndexOf("@") + 1)}>`;
	const subject = "Mail Queue gateway test";
	const text = `This is a test message from Mail Queue, sent ${now.toISOString()} to check a gateway.`;
	const mime = createMimeMessage();
	mime.setSender({ addr: from });
	mime.setTo({ addr: to });
	mime.setSubject(subject);
	mime.setHeader("Message-ID", messageIdHeader);
	mime.setHeader("Date", now.toUTCString().replace("GMT", "+0000"));
	mime.addMessage({ contentType: "text/plain", data: text });
	return {
		id,
		workspaceId,
		from: { email: from },
		to: [{ email: to }],
		cc: [],
		replyTo: [],
		subject,
		text,
		attachments: [],
		messageIdHeader,
		headers: [],
		tags: ["gateway-test"],
		metadata: {},
		raw: mime.asRaw(),
	};
}

async function defaultFrom(db: Db, workspaceId: string): Promise<string | null> {
	const verified = (await listDomains(db, workspaceId)).find((d) => d.status === "verified");
	return verified ? `mailqueue-test@${verified.name}` : null;
}

/** The gateway's driver from its decrypted credentials, or why none can be built (no secret in it). */
async function driverOf(
	key: string,
	context: DriverContext,
	row: GatewayRecord,
): Promise<{ gateway: Gateway } | { failure: GatewayCheck }> {
	const credentials = await openCredentials(key, row);
	if (credentials === null) {
		return { failure: { ok: false, detail: "the stored credentials cannot be opened; set them again" } };
	}
	const gateway = buildGateway({ id: row.id, type: row.type, config: row.config, credentials }, context);
	if ("error" in gateway) return { failure: { ok: false, detail: gateway.error } };
	return { gateway };
}

async function runCheck(gateway: Gateway): Promise<GatewayCheck> {
	if (!gateway.check) return { ok: true, detail: "this gateway type has no credential check" };
	try {
		return await gateway.check(AbortSignal.timeout(CHECK_TIMEOUT_MS));
	} catch (error) {
		// A driver that throws instead of answering fails its check; the error itself may hold a URL.
		return { ok: false, detail: `the check failed (${error instanceof Error ? error.name : typeof error})` };
	}
}

/**
 * The driver's cheapest credential check (no mail sent), for `/test` and the cron's health checks.
 * Never throws: a driver that cannot be built or throws is a failed check.
 */
export async function checkGatewayCredentials(
	key: string,
	context: DriverContext,
	row: GatewayRecord,
): Promise<GatewayCheck> {
	try {
		const built = await driverOf(key, context, row);
		return "failure" in built ? built.failure : await runCheck(built.gateway);
	} catch (error) {
		return {
			ok: false,
			detail: `the driver could not be built (${error instanceof Error ? error.name : typeof error})`,
		};
	}
}

export async function testGateway(
	db: Db,
	key: string,
	context: DriverContext,
	workspaceId: string,
	id: string,
	request: TestRequest,
): Promise<Result<TestOutcome>> {
	const row = await findGateway(db, workspaceId, id);
	if (!row) return err(new ApiError("not_found", "No gateway with this id in this workspace."));
	const started = Date.now();
	const finish = async (outcome: GatewayCheck): Promise<Result<TestOutcome>> => {
		await recordHealth(db, workspaceId, id, outcome.ok);
		return ok({ ok: outcome.ok, latency_ms: Date.now() - started, detail: outcome.detail });
	};

	const built = await driverOf(key, context, row);
	if ("failure" in built) return finish(built.failure);
	if (request.to === undefined) return finish(await runCheck(built.gateway));
	const gateway = built.gateway;
	const from = request.from ?? (await defaultFrom(db, workspaceId));
	if (!from) {
		return err(new ApiError("validation_error", "from: the workspace has no verified domain to send the test from"));
	}
	const message = testMessage(workspaceId, from, request.to);
	const envelope = {
		from,
		recipients: [{ email: request.to, idempotencyKey: `gwtest-${randomToken(12)}` }],
		idempotencyKey: `gwtest-${randomToken(12)}`,
		attempt: 1,
	};
	const result = await gateway.send(message, envelope, AbortSignal.timeout(DELIVERY_TIMEOUT_MS));
	const [outcome] = result.recipients;
	if (!outcome) return finish({ ok: false, detail: "the gateway gave no result" });
	if (outcome.status === "accepted") {
		return finish({
			ok: true,
			detail: `accepted${outcome.providerMessageId ? ` as ${outcome.providerMessageId}` : ""}`,
		});
	}
	return finish({ ok: false, detail: `${outcome.status}: ${outcome.response}` });
}
