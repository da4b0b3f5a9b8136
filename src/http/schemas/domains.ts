// Request and response schemas of /v1/domains (and the platform's domain override).
import { z } from "@hono/zod-openapi";
import { RECORD_STATUSES } from "../../db/schema";
import { RECORD_PURPOSES } from "../../domain/domain-checks/records";
import { DOMAIN_NAME } from "../../domain/domains";

const RecordSchema = z
	.object({
		purpose: z.enum(RECORD_PURPOSES).openapi({
			description: "ownership (required: gates sending), return_path (bounce host for VERP), spf, dmarc (guidance)",
		}),
		type: z.enum(["TXT", "MX"]),
		name: z.string().openapi({ example: "_mailqueue.mail.example.com" }),
		value: z.string().openapi({ example: "mq-verify=3q2-7wEjb9Rm1TdKpLxA0fZc" }),
		required: z.boolean(),
		status: z.enum(RECORD_STATUSES).openapi({
			description:
				"ok; missing; wrong (see `found`); try_later (the resolver failed: SERVFAIL or timeout); unchecked (not checked against this value yet)",
		}),
		found: z.array(z.string()).optional().openapi({ description: "What DNS holds, when it is wrong" }),
		error: z.string().optional(),
	})
	.openapi("DomainRecord");

export const DomainSchema = z
	.object({
		id: z.string(),
		name: z.string().openapi({ example: "mail.example.com" }),
		status: z.enum(["pending", "verified", "failed"]),
		include_subdomains: z.boolean(),
		verified_by: z.enum(["dns", "platform", "development"]).nullable(),
		records: z.array(RecordSchema),
		failure_reason: z.string().nullable(),
		verified_at: z.string().nullable(),
		last_checked_at: z.string().nullable(),
		next_check_at: z.string().nullable().openapi({ description: "When the cron checks again; null: never" }),
		created_at: z.string(),
	})
	.openapi("Domain");

export const domainName = z
	.string()
	.max(253)
	.transform((v) => v.trim().toLowerCase())
	.refine((v) => DOMAIN_NAME.test(v), { message: "is not a valid domain name" });

export const CreateDomainSchema = z
	.strictObject({
		name: domainName,
		include_subdomains: z
			.boolean()
			.default(false)
			.openapi({ description: "Also accept senders at any subdomain (default false)" }),
	})
	.openapi("CreateDomainRequest");

export const UpdateDomainSchema = z
	.strictObject({ include_subdomains: z.boolean().optional() })
	.openapi("UpdateDomainRequest");

export const VouchDomainSchema = z.strictObject({ verified: z.boolean() }).openapi("VouchDomainRequest");
