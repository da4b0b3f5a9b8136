ALTER TABLE `workspaces` ADD `deletion_requested_at` integer;--> statement-breakpoint
ALTER TABLE `workspaces` ADD `purge` text;--> statement-breakpoint
CREATE INDEX `workspaces_deletion` ON `workspaces` (`deletion_requested_at`);