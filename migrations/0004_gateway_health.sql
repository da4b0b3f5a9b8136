ALTER TABLE `gateways` ADD `health_failures` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `gateways_health_due` ON `gateways` (`enabled`,`last_health_check_at`);