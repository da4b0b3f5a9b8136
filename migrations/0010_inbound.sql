CREATE TABLE `inbound_messages` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`route_id` text,
	`message_id` text,
	`kind` text NOT NULL,
	`mail_from` text NOT NULL,
	`rcpt_to` text NOT NULL,
	`client_ip` text,
	`from_email` text,
	`from_name` text,
	`to_list` text DEFAULT '[]' NOT NULL,
	`subject` text,
	`text` text,
	`html_size` integer DEFAULT 0 NOT NULL,
	`attachments` text DEFAULT '[]' NOT NULL,
	`headers` text DEFAULT '{}' NOT NULL,
	`raw_key` text NOT NULL,
	`raw_size` integer NOT NULL,
	`webhook_status` text DEFAULT 'none' NOT NULL,
	`webhook_attempts` integer DEFAULT 0 NOT NULL,
	`webhook_response_code` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `inbound_messages_workspace` ON `inbound_messages` (`workspace_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `inbound_routes` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`domain` text NOT NULL,
	`address` text,
	`webhook_url` text,
	`secret_enc` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `inbound_routes_workspace` ON `inbound_routes` (`workspace_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `inbound_routes_match` ON `inbound_routes` (`domain`,`address`);