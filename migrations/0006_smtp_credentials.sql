CREATE TABLE `smtp_credentials` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`username` text NOT NULL,
	`password_hash` text NOT NULL,
	`mode` text NOT NULL,
	`allowed_domains` text DEFAULT '[]' NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `smtp_credentials_username_unique` ON `smtp_credentials` (`username`);--> statement-breakpoint
CREATE INDEX `smtp_credentials_workspace` ON `smtp_credentials` (`workspace_id`,`created_at`);