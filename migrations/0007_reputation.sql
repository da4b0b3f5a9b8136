CREATE TABLE `reputation_counters` (
	`workspace_id` text NOT NULL,
	`hour` integer NOT NULL,
	`sent` integer DEFAULT 0 NOT NULL,
	`bounced` integer DEFAULT 0 NOT NULL,
	`complained` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`workspace_id`, `hour`)
);
--> statement-breakpoint
CREATE INDEX `reputation_counters_hour` ON `reputation_counters` (`hour`);--> statement-breakpoint
CREATE TABLE `reputation_states` (
	`workspace_id` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`since` integer NOT NULL,
	`reason` text,
	`updated_at` integer NOT NULL
);
