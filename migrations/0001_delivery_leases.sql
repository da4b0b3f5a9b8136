ALTER TABLE `message_recipients` ADD `attempts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `message_recipients` ADD `gateway_id` text;--> statement-breakpoint
ALTER TABLE `message_recipients` ADD `provider_message_id` text;--> statement-breakpoint
ALTER TABLE `message_recipients` ADD `last_error` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `lease_token` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `lease_expires_at` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `next_attempt_at` integer;--> statement-breakpoint
CREATE INDEX `messages_lease` ON `messages` (`status`,`lease_expires_at`);--> statement-breakpoint
CREATE INDEX `messages_due` ON `messages` (`status`,`next_attempt_at`);