// Unauthenticated relay (seed 000): mail the bridge accepted without AUTH from one of its trusted
// networks is sent as the workspace that verified the From domain. The bridge proves it is the
// bridge with SMTP_BRIDGE_SECRET; without that secret configured the relay is off.
import { verifiedDomainOwners } from "../../db/repositories/smtp-relay";
import { ApiError, err, ok, type Result } from "../../errors";
import { domainOf, parseMailbox } from "../../lib/address";
import { timingSafeEqual } from "../../lib/crypto";
import type { Sender } from "./validate";

/** Checks the bridge's bearer secret; a relay without a configured secret is refused. */
export function checkBridgeSecret(configured: string | undefined, authorization: string | undefined): ApiError | null {
	if (!configured) {
		return new ApiError("forbidden", "Unauthenticated relay is not enabled: set the SMTP_BRIDGE_SECRET secret.");
	}
	const given = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1] ?? "";
	return timingSafeEqual(given, configured) ? null : new ApiError("unauthorized", "Invalid bridge secret.");
}

/** An IPv4 or IPv6 address as text (the bridge sends Node's remoteAddress). */
const IP = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$/;

/**
 * The SMTP client's IP the bridge reports in X-Client-IP, believed only from the bridge: beside a
 * valid bridge secret (`X-Bridge-Authorization` on the Basic-authenticated routes, `Authorization`
 * on the relay). Null when not proven or not an address.
 */
export function trustedClientIp(
	configured: string | undefined,
	bridgeAuthorization: string | undefined,
	clientIp: string | undefined,
): string | null {
	const ip = clientIp?.trim() ?? "";
	if (ip === "" || ip.length > 45 || !IP.test(ip)) return null;
	if (bridgeAuthorization === undefined || checkBridgeSecret(configured, bridgeAuthorization) !== null) return null;
	return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}

/** The sender of a relayed message: the only active workspace that verified its From domain. */
export async function relaySender(d1: D1Database, from: unknown): Promise<Result<Sender, ApiError>> {
	const mailbox = typeof from === "string" ? parseMailbox(from) : null;
	if (!mailbox) return err(new ApiError("validation_error", "from: is not a valid email address"));
	const domain = domainOf(mailbox.email);
	const owners = await verifiedDomainOwners(d1, domain);
	const owner = owners[0];
	if (!owner || owners.length > 1) {
		return err(
			new ApiError(
				"domain_not_verified",
				owner
					? `The sender domain "${domain}" is verified by more than one workspace; authenticate to send from it.`
					: `The sender domain "${domain}" is not a verified domain of any workspace; relay refused.`,
			),
		);
	}
	return ok({
		workspaceId: owner.workspaceId,
		apiKeyId: null,
		sandbox: owner.sandbox,
		verifiedDomains: [domain],
		queues: owner.queues,
	});
}
