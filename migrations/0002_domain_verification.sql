ALTER TABLE `domains` ADD `verified_by` text;--> statement-breakpoint
ALTER TABLE `domains` ADD `include_subdomains` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `domains` ADD `next_check_at` integer;--> statement-breakpoint
ALTER TABLE `domains` ADD `pending_since` integer;--> statement-breakpoint
ALTER TABLE `domains` ADD `missing_since` integer;--> statement-breakpoint
ALTER TABLE `domains` ADD `failed_checks` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `domains` ADD `failure_reason` text;--> statement-breakpoint
ALTER TABLE `domains` ADD `record_checks` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
CREATE INDEX `domains_due` ON `domains` (`next_check_at`);