// `POST /v1/gateways/{id}/test`: the driver's cheapest credential check, or with `to` one real test
// message rendered here (a minimal mimetext message, not the full send pipeline). The outcome is
// recorded as the gateway's health.
import { createMimeMessage } from "mimetext/browser";
import type { Db } from "../db/client";
import { listDomains } from "../db/repositories/domains";
import { findGateway, recordHealth } from "../db/repositories/gateways";
import { ApiError, err, ok, type Result } from "../errors";
import { randomToken } from "../lib/crypto";
import { DRIVERS } from "../providers/drivers";
import { CHECK_TIMEOUT_MS } from "../providers/http";
import { DELIVERY_TIMEOUT_MS, type DriverContext, type GatewayCheck, type RenderedMessage } from "../providers/types";
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

	const credentials = await openCredentials(key, row);
	if (credentials === null)
		return finish({ ok: false, detail: "the stored credentials cannot be opened; set them again" });
	const factory = DRIVERS[row.type];
	if (!factory) return finish({ ok: false, detail: `type ${row.type} has no driver in this build` });
	const gateway = factory({ id: row.id, type: row.type, config: row.config, credentials }, context);
	if ("error" in gateway) return finish({ ok: false, detail: gateway.error });

	if (request.to === undefined) {
		if (!gateway.check) return finish({ ok: true, detail: "this gateway type has no credential check" });
		return finish(await gateway.check(AbortSignal.timeout(CHECK_TIMEOUT_MS)));
	}
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
