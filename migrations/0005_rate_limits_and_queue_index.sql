CREATE TABLE `rate_limits` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`scope` text NOT NULL,
	`key` text,
	`window` text NOT NULL,
	`limit` integer NOT NULL,
	`kind` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `rate_limits_workspace` ON `rate_limits` (`workspace_id`,`scope`);--> statement-breakpoint
CREATE INDEX `messages_queue_status` ON `messages` (`queue_id`,`status`,`created_at`);