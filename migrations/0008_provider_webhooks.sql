CREATE TABLE `provider_webhook_tokens` (
	`workspace_id` text NOT NULL,
	`gateway_id` text NOT NULL,
	`token` text NOT NULL,
	`expires_at` integer NOT NULL,
	PRIMARY KEY(`gateway_id`, `token`)
);
--> statement-breakpoint
CREATE INDEX `provider_webhook_tokens_workspace` ON `provider_webhook_tokens` (`workspace_id`,`expires_at`);--> statement-breakpoint
CREATE INDEX `message_recipients_provider` ON `message_recipients` (`provider_message_id`);