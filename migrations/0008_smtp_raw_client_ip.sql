ALTER TABLE `messages` ADD `raw_mime` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `client_ip` text;