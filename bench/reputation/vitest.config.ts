// `npm run bench:reputation`: runs bench/reputation/reputation.bench.ts inside workerd against the
// real D1, as the workers test project does. Not part of `npm test`: it reports figures, asserts none.
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
	const { cloudflareTest, readD1Migrations } = await import("@cloudflare/vitest-pool-workers");
	const migrations = await readD1Migrations("./migrations");
	return {
		plugins: [
			cloudflareTest({
				wrangler: { configPath: "./wrangler.toml" },
				miniflare: {
					bindings: {
						ENVIRONMENT: "test",
						SIGNING_KEY: "bench-signing-key-0123456789abcdef0123456789",
						ENCRYPTION_KEY: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
						TEST_MIGRATIONS: migrations,
					},
				},
			}),
		],
		test: {
			name: "bench-reputation",
			include: ["bench/reputation/*.bench.ts"],
			setupFiles: ["./test/helpers/setup.ts"],
			testTimeout: 900_000,
		},
	};
});
