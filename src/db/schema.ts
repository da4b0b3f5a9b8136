// The relay's system of record in D1, the whole model of DESIGN.md. Times are Unix milliseconds;
// JSON columns hold small structured values that are read whole and never queried into,
// except messages.tags, which the list filter reads through json_each.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const createdAt = () => integer("created_at").notNull().default(sql`(unixepoch('subsec') * 1000)`);
const updatedAt = () => integer("updated_at").notNull().default(sql`(unixepoch('subsec') * 1000)`);
const bool = (name: string) => integer(name, { mode: "boolean" });

/** How far the cron's purge of a deleted workspace has got (docs/operations.md). */
export type PurgeProgress = {
	rowsDeleted: number;
	objectsDeleted: number;
	/** Cron runs that purged something. */
	runs: number;
	lastRunAt: number | null;
};

export const workspaces = sqliteTable(
	"workspaces",
	{
		id: text("id").primaryKey(),
		slug: text("slug").notNull().unique(),
		name: text("name").notNull(),
		status: text("status", { enum: ["active", "suspended"] })
			.notNull()
			.default("active"),
		sandboxMode: bool("sandbox_mode").notNull().default(false),
		/** legacy | gateway | hybrid (seed 001 modes), see DESIGN.md "Routing". */
		routingMode: text("routing_mode", { enum: ["legacy", "gateway", "hybrid"] })
			.notNull()
			.default("gateway"),
		dailyLimit: integer("daily_limit"),
		monthlyLimit: integer("monthly_limit"),
		perSenderDailyLimit: integer("per_sender_daily_limit"),
		inboundWebhookUrl: text("inbound_webhook_url"),
		settings: text("settings", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
		/** Set by DELETE /v1/platform/workspaces/{id}: the workspace is suspended and the cron purges it. */
		deletionRequestedAt: integer("deletion_requested_at"),
		purge: text("purge", { mode: "json" }).$type<PurgeProgress>(),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [index("workspaces_deletion").on(t.deletionRequestedAt)],
);

/** Members of a workspace: dashboard users, and senders with their own limits (keyed by email). */
/** The owning workspace; rows go with it when it is deleted. */
const workspaceRef = () =>
	text("workspace_id")
		.notNull()
		.references(() => workspaces.id, { onDelete: "cascade" });

export const users = sqliteTable(
	"users",
	{
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		email: text("email").notNull(),
		name: text("name"),
		role: text("role", { enum: ["owner", "admin", "member", "viewer", "sender"] })
			.notNull()
			.default("member"),
		/** PBKDF2-SHA256, `pbkdf2$<iterations>$<salt>$<hash>`; null for senders without a login. */
		passwordHash: text("password_hash"),
		mfaSecretEnc: text("mfa_secret_enc"),
		dailyLimit: integer("daily_limit"),
		lastLoginAt: integer("last_login_at"),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [uniqueIndex("users_workspace_email").on(t.workspaceId, t.email)],
);

export const API_KEY_SCOPES = [
	"email:send",
	"email:read",
	"queue:manage",
	"smtp:manage",
	"analytics:read",
	"suppression:manage",
	"admin",
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export const apiKeys = sqliteTable(
	"api_keys",
	{
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		name: text("name").notNull(),
		/** First characters of the secret, safe to show (`mq_live_AbC1`). */
		prefix: text("prefix").notNull(),
		/** Hex SHA-256 of the whole secret; the secret itself is never stored. */
		keyHash: text("key_hash").notNull().unique(),
		mode: text("mode", { enum: ["live", "test"] }).notNull(),
		scopes: text("scopes", { mode: "json" }).$type<ApiKeyScope[]>().notNull(),
		ipAllowlist: text("ip_allowlist", { mode: "json" }).$type<string[]>().notNull().default([]),
		expiresAt: integer("expires_at"),
		lastUsedAt: integer("last_used_at"),
		revokedAt: integer("revoked_at"),
		/** The key this one replaced through rotation. */
		rotatedFromId: text("rotated_from_id"),
		createdAt: createdAt(),
	},
	(t) => [index("api_keys_workspace").on(t.workspaceId, t.createdAt)],
);

export const DOMAIN_VERIFIERS = ["dns", "platform", "development"] as const;
export const RECORD_STATUSES = ["ok", "missing", "wrong", "try_later", "unchecked"] as const;
export type RecordStatus = (typeof RECORD_STATUSES)[number];
/** One record's last check: what it was checked against, what it found, when. */
export type RecordCheck = { expected: string; status: RecordStatus; found?: string[]; error?: string; at: number };

/**
 * SMTP logins other than API keys (seed 003's accounts): a generated user name and password (only
 * its SHA-256 is kept, as for API keys: it is random, not chosen), sending only, optionally limited
 * to some of the workspace's verified domains.
 */
export const smtpCredentials = sqliteTable(
	"smtp_credentials",
	{
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		name: text("name").notNull(),
		username: text("username").notNull().unique(),
		passwordHash: text("password_hash").notNull(),
		mode: text("mode", { enum: ["live", "test"] }).notNull(),
		/** Sender domains this login may use; empty means every verified domain of the workspace. */
		allowedDomains: text("allowed_domains", { mode: "json" }).$type<string[]>().notNull().default([]),
		lastUsedAt: integer("last_used_at"),
		revokedAt: integer("revoked_at"),
		createdAt: createdAt(),
	},
	(t) => [index("smtp_credentials_workspace").on(t.workspaceId, t.createdAt)],
);

export const domains = sqliteTable(
	"domains",
	{
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		name: text("name").notNull(),
		status: text("status", { enum: ["pending", "verified", "failed"] })
			.notNull()
			.default("pending"),
		verificationToken: text("verification_token").notNull(),
		dkimSelector: text("dkim_selector"),
		dkimPublicKey: text("dkim_public_key"),
		dkimPrivateKeyEnc: text("dkim_private_key_enc"),
		verifiedAt: integer("verified_at"),
		/** dns: the ownership TXT was found; platform: an operator vouched; development: a reserved test name. */
		verifiedBy: text("verified_by", { enum: DOMAIN_VERIFIERS }),
		/** Senders at any subdomain are accepted too. */
		includeSubdomains: bool("include_subdomains").notNull().default(false),
		lastCheckedAt: integer("last_checked_at"),
		/** When the cron checks next (the `domains_due` index); null: never (failed, vouched, development). */
		nextCheckAt: integer("next_check_at"),
		/** Start of the current pending window (72 h), reset when a failed domain is checked again. */
		pendingSince: integer("pending_since"),
		/** Since when a verified domain's ownership TXT has been missing; null while it is found. */
		missingSince: integer("missing_since"),
		/** Definitive failed checks in a row (missing or wrong); lookups that fail temporarily do not count. */
		failedChecks: integer("failed_checks").notNull().default(0),
		failureReason: text("failure_reason"),
		/** The last result per record purpose, with the value it was checked against (src/domain/domain-checks). */
		recordChecks: text("record_checks", { mode: "json" }).$type<Record<string, RecordCheck>>().notNull().default({}),
		createdAt: createdAt(),
	},
	(t) => [uniqueIndex("domains_workspace_name").on(t.workspaceId, t.name), index("domains_due").on(t.nextCheckAt)],
);

export const GATEWAY_TYPES = [
	"sandbox",
	"mailgun",
	"sendgrid",
	"ses",
	"gmail",
	"postmark",
	"resend",
	"smtp",
	"cloudflare",
] as const;
export type GatewayType = (typeof GATEWAY_TYPES)[number];

export const gateways = sqliteTable(
	"gateways",
	{
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		name: text("name").notNull(),
		type: text("type", { enum: GATEWAY_TYPES }).notNull(),
		enabled: bool("enabled").notNull().default(true),
		/** The workspace's single provider in `legacy` routing mode. */
		isLegacy: bool("is_legacy").notNull().default(false),
		priority: integer("priority").notNull().default(100),
		weight: integer("weight").notNull().default(1),
		/** AES-256-GCM ciphertext of the provider credentials (see src/lib/crypto.ts). */
		credentialsEnc: text("credentials_enc"),
		config: text("config", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
		canRoute: text("can_route", { mode: "json" }).$type<string[]>().notNull().default([]),
		excludePatterns: text("exclude_patterns", { mode: "json" }).$type<string[]>().notNull().default([]),
		ratePerSecond: integer("rate_per_second"),
		ratePerMinute: integer("rate_per_minute"),
		ratePerHour: integer("rate_per_hour"),
		ratePerDay: integer("rate_per_day"),
		healthStatus: text("health_status", { enum: ["unknown", "healthy", "unhealthy"] })
			.notNull()
			.default("unknown"),
		lastHealthCheckAt: integer("last_health_check_at"),
		/** Consecutive failed health checks; `health_check_failure_threshold` of them mark it unhealthy. */
		healthFailures: integer("health_failures").notNull().default(0),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [
		uniqueIndex("gateways_workspace_name").on(t.workspaceId, t.name),
		// The cron's health checks take enabled gateways oldest check first.
		index("gateways_health_due").on(t.enabled, t.lastHealthCheckAt),
	],
);

export const ROUTING_STRATEGIES = [
	"priority",
	"round_robin",
	"weighted",
	"least_loaded",
	"domain",
	"failover",
] as const;

export const queues = sqliteTable(
	"queues",
	{
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		name: text("name").notNull(),
		priority: integer("priority").notNull().default(5),
		ratePerMinute: integer("rate_per_minute"),
		maxRetries: integer("max_retries").notNull().default(5),
		retryDelays: text("retry_delays", { mode: "json" }).$type<number[]>().notNull().default([0, 30, 120, 600, 3600]),
		strategy: text("strategy", { enum: ROUTING_STRATEGIES }),
		paused: bool("paused").notNull().default(false),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [uniqueIndex("queues_workspace_name").on(t.workspaceId, t.name)],
);

/**
 * A workspace's rate limits (PUT /v1/rate-limits, docs/rate-limits.md): the system of record the
 * WorkspaceLimiter Durable Object loads its configuration from; the counters live in that object.
 */
export const rateLimits = sqliteTable(
	"rate_limits",
	{
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		scope: text("scope", { enum: ["workspace", "sender", "api_key"] }).notNull(),
		/** A sender address or API key id the limit overrides the default for; null is the default. */
		key: text("key"),
		window: text("window", { enum: ["second", "minute", "hour", "day"] }).notNull(),
		limit: integer("limit").notNull(),
		kind: text("kind", { enum: ["soft", "hard"] }).notNull(),
		createdAt: createdAt(),
	},
	(t) => [index("rate_limits_workspace").on(t.workspaceId, t.scope)],
);

/**
 * Platform-wide (global) rate limits, set by operators (PUT /v1/platform/rate-limits): every
 * workspace's mail counts against them, in the one `global` limiter instance (docs/rate-limits.md).
 */
export const platformRateLimits = sqliteTable("platform_rate_limits", {
	id: text("id").primaryKey(),
	window: text("window", { enum: ["second", "minute", "hour", "day"] }).notNull(),
	limit: integer("limit").notNull(),
	kind: text("kind", { enum: ["soft", "hard"] }).notNull(),
	createdAt: createdAt(),
});

export const routingRules = sqliteTable(
	"routing_rules",
	{
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		queueId: text("queue_id").references(() => queues.id, { onDelete: "cascade" }),
		name: text("name").notNull(),
		/** Lower runs first. */
		position: integer("position").notNull().default(100),
		match: text("match", { mode: "json" })
			.$type<{
				senderDomain?: string;
				recipientDomain?: string;
				tag?: string;
				header?: { name: string; value: string };
			}>()
			.notNull(),
		strategy: text("strategy", { enum: ROUTING_STRATEGIES }),
		gatewayIds: text("gateway_ids", { mode: "json" }).$type<string[]>().notNull().default([]),
		enabled: bool("enabled").notNull().default(true),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [index("routing_rules_workspace").on(t.workspaceId, t.position)],
);

export const MESSAGE_STATUSES = [
	"scheduled",
	"queued",
	"processing",
	"deferred",
	"sent",
	"delivered",
	"bounced",
	"rejected",
	"failed",
	"cancelled",
	/** A recipient (or a message, when every recipient was) skipped: the address is on a suppression list. */
	"suppressed",
	/** A recipient that reported the message as spam (feedback loop, provider event). */
	"complained",
] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** Statuses a message (or a recipient) never leaves by itself. */
export const FINAL_MESSAGE_STATUSES: ReadonlySet<MessageStatus> = new Set([
	"sent",
	"delivered",
	"bounced",
	"rejected",
	"failed",
	"cancelled",
	"suppressed",
	"complained",
]);

export type Address = { email: string; name?: string | undefined };

export const messages = sqliteTable(
	"messages",
	{
		/** ULID plus an HMAC tag, so an id can be checked before it is materialized (src/lib/ids.ts). */
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		queueId: text("queue_id"),
		apiKeyId: text("api_key_id"),
		source: text("source", { enum: ["api", "smtp", "scheduled"] })
			.notNull()
			.default("api"),
		sandbox: bool("sandbox").notNull().default(false),
		fromEmail: text("from_email").notNull(),
		fromName: text("from_name"),
		replyTo: text("reply_to", { mode: "json" }).$type<Address[]>().notNull().default([]),
		subject: text("subject").notNull(),
		html: text("html"),
		text: text("text"),
		headers: text("headers", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
		tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default([]),
		metadata: text("metadata", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
		/** R2 key of the content when it is too large for the row (DESIGN.md "Storage"). */
		contentKey: text("content_key"),
		/** R2 key of the rendered MIME the sandbox gateway captured. */
		mimeKey: text("mime_key"),
		/**
		 * SMTP: the client's message as received, delivered as sent (docs/smtp.md); null when the content
		 * is in R2 (content_key) or the message came from the API.
		 */
		rawMime: text("raw_mime"),
		/** SMTP: the client's IP as the bridge reported it. */
		clientIp: text("client_ip"),
		status: text("status", { enum: MESSAGE_STATUSES }).notNull().default("queued"),
		gatewayId: text("gateway_id"),
		providerMessageId: text("provider_message_id"),
		attempts: integer("attempts").notNull().default(0),
		lastError: text("last_error"),
		scheduledAt: integer("scheduled_at"),
		/**
		 * The consumer's claim (DESIGN.md "Send consumer"): only the holder of an unexpired lease may
		 * deliver or record an outcome, so two deliveries of one job never both send.
		 */
		leaseToken: text("lease_token"),
		leaseExpiresAt: integer("lease_expires_at"),
		/** When the next delivery attempt is due (deferred), or since when the row waits (queued). */
		nextAttemptAt: integer("next_attempt_at"),
		/** When the API answered 202: the id's own timestamp. */
		createdAt: integer("created_at").notNull(),
		updatedAt: updatedAt(),
		sentAt: integer("sent_at"),
	},
	(t) => [
		index("messages_workspace_id").on(t.workspaceId, t.id),
		index("messages_workspace_status").on(t.workspaceId, t.status, t.id),
		index("messages_scheduled").on(t.status, t.scheduledAt),
		index("messages_lease").on(t.status, t.leaseExpiresAt),
		index("messages_due").on(t.status, t.nextAttemptAt),
		index("messages_queue_status").on(t.queueId, t.status, t.createdAt),
	],
);

export const RECIPIENT_KINDS = ["to", "cc", "bcc"] as const;

export const messageRecipients = sqliteTable(
	"message_recipients",
	{
		messageId: text("message_id")
			.notNull()
			.references(() => messages.id, { onDelete: "cascade" }),
		kind: text("kind", { enum: RECIPIENT_KINDS }).notNull(),
		email: text("email").notNull(),
		name: text("name"),
		status: text("status", { enum: MESSAGE_STATUSES }).notNull().default("queued"),
		/** Delivery attempts that included this recipient. */
		attempts: integer("attempts").notNull().default(0),
		gatewayId: text("gateway_id"),
		providerMessageId: text("provider_message_id"),
		/** The last classified result for this recipient, `<kind>: <provider response>`. */
		lastError: text("last_error"),
		lastEventAt: integer("last_event_at"),
	},
	(t) => [
		primaryKey({ columns: [t.messageId, t.kind, t.email] }),
		index("message_recipients_email").on(t.email),
		// Provider event webhooks that do not carry our message id find it by the provider's.
		index("message_recipients_provider").on(t.providerMessageId),
	],
);

/** Seed 000's recipient statuses (the API shows them upper-case); feedback moves them, PUT sets them. */
export const RECIPIENT_STATUSES = ["active", "inactive", "bounced", "complained", "unsubscribed"] as const;
export type RecipientStatus = (typeof RECIPIENT_STATUSES)[number];

/** Every address a workspace has sent to, with its engagement state. */
export const recipients = sqliteTable(
	"recipients",
	{
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		/** Lower-case. */
		email: text("email").notNull(),
		name: text("name"),
		status: text("status", { enum: RECIPIENT_STATUSES }).notNull().default("active"),
		/** Custom fields (PUT /v1/recipients/{email} `fields`), for personalization. */
		metadata: text("metadata", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
		sentCount: integer("sent_count").notNull().default(0),
		lastSentAt: integer("last_sent_at"),
		bounceCount: integer("bounce_count").notNull().default(0),
		lastBounceAt: integer("last_bounce_at"),
		/** Soft bounces since `soft_bounce_since`; enough of them within the window suppress (docs/suppressions.md). */
		softBounceCount: integer("soft_bounce_count").notNull().default(0),
		softBounceSince: integer("soft_bounce_since"),
		lastEventAt: integer("last_event_at"),
		createdAt: createdAt(),
		updatedAt: integer("updated_at"),
	},
	(t) => [
		uniqueIndex("recipients_workspace_email").on(t.workspaceId, t.email),
		index("recipients_workspace_status").on(t.workspaceId, t.status, t.email),
	],
);

export const EVENT_TYPES = [
	"queued",
	"scheduled",
	"processing",
	"deferred",
	"sent",
	"delivered",
	"bounced",
	"rejected",
	"failed",
	"cancelled",
	"requeued",
	"opened",
	"clicked",
	"complained",
	"unsubscribed",
	/** A bounce that does not kill the address (4.x.x, mailbox_full, expired…); `bounced` is the hard one. */
	"soft_bounced",
	/** A recipient skipped because the address is on the suppression list. */
	"suppressed",
	/** Inbound mail that is not a report (stored, and posted to the inbound route's webhook). */
	"inbound_received",
	"reputation_warning",
	"reputation_throttled",
	"reputation_recovered",
	"domain_verified",
	"domain_failed",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const events = sqliteTable(
	"events",
	{
		/** Deterministic where the event can repeat (`<message>:<type>:<attempt>`), so replays insert nothing. */
		id: text("id").primaryKey(),
		workspaceId: text("workspace_id").notNull(),
		messageId: text("message_id"),
		recipient: text("recipient"),
		type: text("type", { enum: EVENT_TYPES }).notNull(),
		data: text("data", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
		createdAt: integer("created_at").notNull(),
	},
	(t) => [
		index("events_message").on(t.messageId, t.createdAt),
		index("events_workspace_type").on(t.workspaceId, t.type, t.createdAt),
	],
);

export const SUPPRESSION_REASONS = [
	"hard_bounce",
	"soft_bounce",
	"complaint",
	"unsubscribe",
	"manual",
	"invalid",
] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** A workspace's suppression list (docs/suppressions.md): a recipient on it is skipped at delivery. */
export const suppressions = sqliteTable(
	"suppressions",
	{
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		/** Lower-case. */
		email: text("email").notNull(),
		reason: text("reason", { enum: SUPPRESSION_REASONS }).notNull(),
		sourceMessageId: text("source_message_id"),
		/** An entry past its expiry no longer suppresses; null: permanent. */
		expiresAt: integer("expires_at"),
		createdAt: createdAt(),
	},
	(t) => [
		uniqueIndex("suppressions_workspace_email").on(t.workspaceId, t.email),
		index("suppressions_workspace_id").on(t.workspaceId, t.id),
	],
);

/** The operator's list (PLATFORM_TOKEN, /v1/platform/suppressions): suppresses in every workspace. */
export const platformSuppressions = sqliteTable("platform_suppressions", {
	id: text("id").primaryKey(),
	/** Lower-case. */
	email: text("email").notNull().unique(),
	reason: text("reason", { enum: SUPPRESSION_REASONS }).notNull(),
	expiresAt: integer("expires_at"),
	createdAt: createdAt(),
});

export const webhookEndpoints = sqliteTable(
	"webhook_endpoints",
	{
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		url: text("url").notNull(),
		secretEnc: text("secret_enc").notNull(),
		eventTypes: text("event_types", { mode: "json" }).$type<EventType[]>().notNull().default([]),
		format: text("format", { enum: ["standard", "mandrill"] })
			.notNull()
			.default("standard"),
		enabled: bool("enabled").notNull().default(true),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [index("webhook_endpoints_workspace").on(t.workspaceId)],
);

export const webhookDeliveries = sqliteTable(
	"webhook_deliveries",
	{
		id: text("id").primaryKey(),
		workspaceId: text("workspace_id").notNull(),
		endpointId: text("endpoint_id")
			.notNull()
			.references(() => webhookEndpoints.id, { onDelete: "cascade" }),
		eventId: text("event_id"),
		eventType: text("event_type").notNull(),
		payload: text("payload").notNull(),
		status: text("status", { enum: ["pending", "delivered", "failed"] })
			.notNull()
			.default("pending"),
		attempts: integer("attempts").notNull().default(0),
		responseCode: integer("response_code"),
		latencyMs: integer("latency_ms"),
		lastError: text("last_error"),
		nextRetryAt: integer("next_retry_at"),
		deliveredAt: integer("delivered_at"),
		createdAt: createdAt(),
	},
	(t) => [
		index("webhook_deliveries_endpoint").on(t.endpointId, t.createdAt),
		index("webhook_deliveries_status").on(t.status, t.nextRetryAt),
	],
);

export const templates = sqliteTable(
	"templates",
	{
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		name: text("name").notNull(),
		subject: text("subject").notNull(),
		html: text("html"),
		text: text("text"),
		variables: text("variables", { mode: "json" }).$type<string[]>().notNull().default([]),
		version: integer("version").notNull().default(1),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [uniqueIndex("templates_workspace_name").on(t.workspaceId, t.name)],
);

export const scheduledJobs = sqliteTable(
	"scheduled_jobs",
	{
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		queueId: text("queue_id"),
		name: text("name").notNull(),
		cron: text("cron").notNull(),
		timezone: text("timezone").notNull().default("UTC"),
		/** The email request body (as POST /v1/emails takes it) sent on every run. */
		payload: text("payload", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
		enabled: bool("enabled").notNull().default(true),
		lastRunAt: integer("last_run_at"),
		nextRunAt: integer("next_run_at"),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [index("scheduled_jobs_due").on(t.enabled, t.nextRunAt)],
);

export const auditLogs = sqliteTable(
	"audit_logs",
	{
		id: text("id").primaryKey(),
		workspaceId: text("workspace_id").notNull(),
		actorType: text("actor_type", { enum: ["user", "api_key", "system", "platform"] }).notNull(),
		actorId: text("actor_id"),
		action: text("action").notNull(),
		resourceType: text("resource_type").notNull(),
		resourceId: text("resource_id"),
		changes: text("changes", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
		ip: text("ip"),
		userAgent: text("user_agent"),
		createdAt: createdAt(),
	},
	(t) => [index("audit_logs_workspace").on(t.workspaceId, t.createdAt)],
);

/**
 * Issue 11 (docs/reputation.md): per workspace and Unix hour (`created_at / 3,600,000`), the recipients
 * sent and the bounces and complaints heard, added to in the same D1 batches that write those events.
 * No foreign key: a counter row must never fail the consumer's outcome batch; the purge removes them.
 */
export const reputationCounters = sqliteTable(
	"reputation_counters",
	{
		workspaceId: text("workspace_id").notNull(),
		hour: integer("hour").notNull(),
		sent: integer("sent").notNull().default(0),
		bounced: integer("bounced").notNull().default(0),
		complained: integer("complained").notNull().default(0),
	},
	(t) => [primaryKey({ columns: [t.workspaceId, t.hour] }), index("reputation_counters_hour").on(t.hour)],
);

export const REPUTATION_STATES = ["ok", "warning", "throttled"] as const;
export type ReputationState = (typeof REPUTATION_STATES)[number];

/** A workspace's reputation state as the cron last decided it; no row reads as `ok`. */
export const reputationStates = sqliteTable("reputation_states", {
	workspaceId: text("workspace_id").primaryKey(),
	state: text("state", { enum: REPUTATION_STATES }).notNull(),
	/** When the workspace entered this state. */
	since: integer("since").notNull(),
	/** Which rate of which window moved it here, e.g. `bounce rate 24h 6.00% ≥ 5.00%`. */
	reason: text("reason"),
	updatedAt: integer("updated_at").notNull(),
});

/**
 * Signature tokens of provider webhooks already accepted (Mailgun's `token`), per gateway, so a
 * captured request cannot be replayed while its timestamp is still fresh. Rows expire after that.
 */
export const providerWebhookTokens = sqliteTable(
	"provider_webhook_tokens",
	{
		/** The gateway's workspace, so a workspace's purge finds its rows (src/db/repositories/purge.ts). */
		workspaceId: text("workspace_id").notNull(),
		gatewayId: text("gateway_id").notNull(),
		token: text("token").notNull(),
		expiresAt: integer("expires_at").notNull(),
	},
	(t) => [
		primaryKey({ columns: [t.gatewayId, t.token] }),
		index("provider_webhook_tokens_workspace").on(t.workspaceId, t.expiresAt),
	],
);

/**
 * Inbound routes (docs/inbound.md): mail to an address, or to any address of a domain, of a verified
 * domain of the workspace is stored and, with a URL, posted to that webhook (Standard Webhooks).
 */
export const inboundRoutes = sqliteTable(
	"inbound_routes",
	{
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		/** Lower-cased domain name (a verified domain of the workspace). */
		domain: text("domain").notNull(),
		/** Lower-cased full address; null matches every address of the domain. */
		address: text("address"),
		/** Null: storage only. */
		webhookUrl: text("webhook_url"),
		/** AES-256-GCM ciphertext of the route's `whsec_…` signing secret. */
		secretEnc: text("secret_enc").notNull(),
		enabled: bool("enabled").notNull().default(true),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [
		index("inbound_routes_workspace").on(t.workspaceId, t.createdAt),
		index("inbound_routes_match").on(t.domain, t.address),
	],
);

export const INBOUND_MESSAGE_KINDS = ["bounce", "complaint", "auto_reply", "other", "routed"] as const;

export type InboundAttachment = {
	filename: string | null;
	content_type: string;
	size: number;
	content_id: string | null;
};

/** Mail the relay received (Email Worker or the bridge's MX mode): raw MIME in R2, parsed fields here. */
export const inboundMessages = sqliteTable(
	"inbound_messages",
	{
		/** Derived from the raw bytes and the recipient, so a redelivered message is one row. */
		id: text("id").primaryKey(),
		workspaceId: workspaceRef(),
		routeId: text("route_id"),
		/** The relay's message a bounce or complaint is about. */
		messageId: text("message_id"),
		kind: text("kind", { enum: INBOUND_MESSAGE_KINDS }).notNull(),
		mailFrom: text("mail_from").notNull(),
		rcptTo: text("rcpt_to").notNull(),
		clientIp: text("client_ip"),
		fromEmail: text("from_email"),
		fromName: text("from_name"),
		toList: text("to_list", { mode: "json" }).$type<Address[]>().notNull().default([]),
		subject: text("subject"),
		/** The text part, cut at 64 KB (the whole message is in R2). */
		text: text("text"),
		htmlSize: integer("html_size").notNull().default(0),
		attachments: text("attachments", { mode: "json" }).$type<InboundAttachment[]>().notNull().default([]),
		/** Message-ID, In-Reply-To, References, Date, Reply-To, Auto-Submitted … as received. */
		headers: text("headers", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
		rawKey: text("raw_key").notNull(),
		rawSize: integer("raw_size").notNull(),
		/** The route webhook's state: none (storage only), pending, delivered, failed. */
		webhookStatus: text("webhook_status", { enum: ["none", "pending", "delivered", "failed"] })
			.notNull()
			.default("none"),
		webhookAttempts: integer("webhook_attempts").notNull().default(0),
		webhookResponseCode: integer("webhook_response_code"),
		createdAt: integer("created_at").notNull(),
	},
	(t) => [index("inbound_messages_workspace").on(t.workspaceId, t.createdAt)],
);
