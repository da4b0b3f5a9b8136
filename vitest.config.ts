// Tests run inside workerd against the Worker's real bindings (D1, R2, Queues, Durable Objects) as
// wrangler.toml declares them, with migrations applied before each test file.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
	const migrations = await readD1Migrations("./migrations");
	return {
		plugins: [
			cloudflareTest({
				wrangler: { configPath: "./wrangler.toml" },
				miniflare: {
					bindings: {
						ENVIRONMENT: "test",
						SIGNING_KEY: "test-signing-key-0123456789abcdef0123456789",
						ENCRYPTION_KEY: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
						TEST_MIGRATIONS: migrations,
					},
				},
			}),
		],
		test: {
			include: ["test/**/*.test.ts"],
			setupFiles: ["./test/helpers/setup.ts"],
			testTimeout: 20_000,
		},
	};
});
