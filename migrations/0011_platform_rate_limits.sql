CREATE TABLE `platform_rate_limits` (
	`id` text PRIMARY KEY NOT NULL,
	`window` text NOT NULL,
	`limit` integer NOT NULL,
	`kind` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
