// Inbound routes (/v1/inbound-routes, docs/inbound.md): an address, or a whole domain, of a verified
// domain of the workspace → a webhook URL, or storage only. Each route has its own signing secret,
// shown once when the route is made (or its secret rotated).
import type { Db } from "../../db/client";
import {
	deleteInboundRoute,
	findInboundRoute,
	findRouteByPattern,
	type InboundRouteRecord,
	insertInboundRoute,
	isVerifiedDomain,
	listInboundRoutes,
	updateInboundRoute,
} from "../../db/repositories/inbound";
import { ApiError, err, ok, type Result } from "../../errors";
import { domainOf, isEmail } from "../../lib/address";
import { encryptSecret } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";
import { newWebhookSecret } from "./webhook-signature";

export type RouteDeps = { db: Db; encryptionKey: string; environment: string };

export type InboundRouteView = {
	id: string;
	match: string;
	address: string | null;
	domain: string;
	webhook_url: string | null;
	enabled: boolean;
	created_at: string;
	updated_at: string;
};

export type NewRoute = { match: string; webhookUrl: string | null; enabled: boolean };

export function routeView(r: InboundRouteRecord): InboundRouteView {
	return {
		id: r.id,
		match: r.address ?? r.domain,
		address: r.address,
		domain: r.domain,
		webhook_url: r.webhookUrl,
		enabled: r.enabled,
		created_at: iso(r.createdAt),
		updated_at: iso(r.updatedAt),
	};
}

const invalid = (path: string, message: string) =>
	err(new ApiError("validation_error", `${path}: ${message}`, [{ path, message }]));

/** Private, loopback and link-local hosts, refused as webhook targets outside development. */
const PRIVATE_HOST =
	/^(localhost|.*\.localhost|.*\.internal|127\.\d+\.\d+\.\d+|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|172\.(1[6-9]|2\d|3[01])\.\d+\.\d+|169\.254\.\d+\.\d+|0\.0\.0\.0|\[.*\])$/i;

function checkUrl(url: string, environment: string): string | null {
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		return "is not a URL";
	}
	const local = environment === "development" || environment === "test";
	if (local) return parsed.protocol === "https:" || parsed.protocol === "http:" ? null : "must be an http(s) URL";
	if (parsed.protocol !== "https:") return "must be an https URL";
	if (PRIVATE_HOST.test(parsed.hostname)) return "must not point at a private or loopback address";
	return null;
}

export async function createInboundRoute(
	deps: RouteDeps,
	workspaceId: string,
	input: NewRoute,
): Promise<Result<{ route: InboundRouteView; secret: string }, ApiError>> {
	const match = input.match.trim().toLowerCase();
	const address = match.includes("@") ? match : null;
	if (address !== null && !isEmail(address)) return invalid("match", "is not a valid address or domain");
	const domain = address ? domainOf(address) : match;
	if (domain.startsWith("bounces.")) return invalid("match", "bounce domains take bounces, not routed mail");
	if (input.webhookUrl !== null) {
		const problem = checkUrl(input.webhookUrl, deps.environment);
		if (problem) return invalid("webhook_url", problem);
	}
	if (!(await isVerifiedDomain(deps.db, workspaceId, domain))) {
		return err(new ApiError("domain_not_verified", `"${domain}" is not a verified domain of this workspace.`));
	}
	if (await findRouteByPattern(deps.db, workspaceId, domain, address)) {
		return err(new ApiError("conflict", `A route for "${match}" already exists in this workspace.`));
	}
	const secret = newWebhookSecret();
	const now = Date.now();
	const row = await insertInboundRoute(deps.db, {
		id: newId("inr"),
		workspaceId,
		domain,
		address,
		webhookUrl: input.webhookUrl,
		secretEnc: await encryptSecret(deps.encryptionKey, secret),
		enabled: input.enabled,
		createdAt: now,
		updatedAt: now,
	});
	return ok({ route: routeView(row), secret });
}

export async function listRoutes(deps: RouteDeps, workspaceId: string, limit: number, cursor?: string) {
	const rows = await listInboundRoutes(deps.db, workspaceId, limit + 1, cursor);
	const page = rows.slice(0, limit);
	const more = rows.length > limit;
	return { data: page.map(routeView), has_more: more, next_cursor: more ? (page.at(-1)?.id ?? null) : null };
}

export async function getRoute(deps: RouteDeps, workspaceId: string, id: string) {
	const row = await findInboundRoute(deps.db, workspaceId, id);
	return row ? routeView(row) : null;
}

export type RouteChanges = {
	webhookUrl?: string | null | undefined;
	enabled?: boolean | undefined;
	rotateSecret?: boolean;
};

export async function changeRoute(
	deps: RouteDeps,
	workspaceId: string,
	id: string,
	changes: RouteChanges,
): Promise<Result<{ route: InboundRouteView; secret?: string } | null, ApiError>> {
	if (changes.webhookUrl) {
		const problem = checkUrl(changes.webhookUrl, deps.environment);
		if (problem) return invalid("webhook_url", problem);
	}
	const secret = changes.rotateSecret ? newWebhookSecret() : undefined;
	const row = await updateInboundRoute(deps.db, workspaceId, id, {
		...(changes.webhookUrl !== undefined ? { webhookUrl: changes.webhookUrl } : {}),
		...(changes.enabled !== undefined ? { enabled: changes.enabled } : {}),
		...(secret ? { secretEnc: await encryptSecret(deps.encryptionKey, secret) } : {}),
	});
	if (!row) return ok(null);
	return ok(secret ? { route: routeView(row), secret } : { route: routeView(row) });
}

export function removeRoute(deps: RouteDeps, workspaceId: string, id: string): Promise<boolean> {
	return deleteInboundRoute(deps.db, workspaceId, id);
}
