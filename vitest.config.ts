// Two test projects, both run by `npm test`:
// - workers: inside workerd against the Worker's real bindings (D1, R2, Queues, Durable Objects) as
//   wrangler.toml declares them, migrations applied before each file;
// - node: the relay as `npm start` runs it (wrangler dev), driven over HTTP from Node.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
	const migrations = await readD1Migrations("./migrations");
	return {
		test: {
			projects: [
				{
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
						name: "workers",
						include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
						setupFiles: ["./test/helpers/setup.ts"],
						testTimeout: 20_000,
					},
				},
				{
					test: {
						name: "node",
						include: ["test/node/**/*.test.ts"],
						environment: "node",
						testTimeout: 60_000,
						hookTimeout: 180_000,
					},
				},
			],
		},
	};
});
