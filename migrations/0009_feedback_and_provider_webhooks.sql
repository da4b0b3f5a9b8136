CREATE TABLE `platform_suppressions` (
	`id` text PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`reason` text NOT NULL,
	`expires_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `platform_suppressions_email_unique` ON `platform_suppressions` (`email`);--> statement-breakpoint
CREATE TABLE `provider_webhook_tokens` (
	`workspace_id` text NOT NULL,
	`gateway_id` text NOT NULL,
	`token` text NOT NULL,
	`expires_at` integer NOT NULL,
	PRIMARY KEY(`gateway_id`, `token`)
);
--> statement-breakpoint
CREATE INDEX `provider_webhook_tokens_workspace` ON `provider_webhook_tokens` (`workspace_id`,`expires_at`);--> statement-breakpoint
ALTER TABLE `recipients` ADD `bounce_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `recipients` ADD `last_bounce_at` integer;--> statement-breakpoint
ALTER TABLE `recipients` ADD `soft_bounce_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `recipients` ADD `soft_bounce_since` integer;--> statement-breakpoint
ALTER TABLE `recipients` ADD `last_event_at` integer;--> statement-breakpoint
ALTER TABLE `recipients` ADD `updated_at` integer;--> statement-breakpoint
CREATE INDEX `recipients_workspace_status` ON `recipients` (`workspace_id`,`status`,`email`);--> statement-breakpoint
CREATE INDEX `message_recipients_provider` ON `message_recipients` (`provider_message_id`);--> statement-breakpoint
CREATE INDEX `suppressions_workspace_id` ON `suppressions` (`workspace_id`,`id`);