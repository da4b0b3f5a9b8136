CREATE TABLE `platform_suppressions` (
	`id` text PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`reason` text NOT NULL,
	`expires_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `platform_suppressions_email_unique` ON `platform_suppressions` (`email`);--> statement-breakpoint
ALTER TABLE `recipients` ADD `bounce_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `recipients` ADD `last_bounce_at` integer;--> statement-breakpoint
ALTER TABLE `recipients` ADD `soft_bounce_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `recipients` ADD `soft_bounce_since` integer;--> statement-breakpoint
ALTER TABLE `recipients` ADD `last_event_at` integer;--> statement-breakpoint
ALTER TABLE `recipients` ADD `updated_at` integer;--> statement-breakpoint
CREATE INDEX `recipients_workspace_status` ON `recipients` (`workspace_id`,`status`,`email`);--> statement-breakpoint
CREATE INDEX `suppressions_workspace_id` ON `suppressions` (`workspace_id`,`id`);