// drizzle-kit generates the SQL migrations in migrations/ from src/db/schema.ts;
// wrangler applies them (`wrangler d1 migrations apply`), tests apply them with applyD1Migrations.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
	dialect: "sqlite",
	schema: "./src/db/schema.ts",
	out: "./migrations",
});
