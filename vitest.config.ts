// Two test projects, both run by `npm test`:
// - workers: inside workerd against the Worker's real bindings (D1, R2, Queues, Durable Objects) as
//   wrangler.toml declares them, migrations applied before each file;
// - bridge: the SMTP bridge (smtp-bridge/) with real SMTP clients against a stand-in Worker;
// - node: the relay as `npm start` runs it (wrangler dev), driven over HTTP from Node.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

// workerd trusts only the CAs Miniflare hands it, read from NODE_EXTRA_CA_CERTS when Miniflare is
// first loaded; the local SMTP servers' test certificate is added before that import, so STARTTLS
// and implicit TLS are verified for real in the tests.
const TEST_CA = "test/fixtures/smtp-test-cert.pem";
function trustTestCa(): void {
	const extra = process.env.NODE_EXTRA_CA_CERTS;
	if (extra === undefined || !existsSync(extra)) {
		process.env.NODE_EXTRA_CA_CERTS = TEST_CA;
		return;
	}
	const combined = join(tmpdir(), "mail-queue-test-ca.pem");
	writeFileSync(combined, `${readFileSync(extra, "utf8")}\n${readFileSync(TEST_CA, "utf8")}`);
	process.env.NODE_EXTRA_CA_CERTS = combined;
}

export default defineConfig(async () => {
	trustTestCa();
	const { cloudflareTest, readD1Migrations } = await import("@cloudflare/vitest-pool-workers");
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
						globalSetup: ["./test/helpers/local-servers.ts"],
						testTimeout: 20_000,
					},
				},
				{
					test: {
						name: "bridge",
						root: "./smtp-bridge",
						include: ["test/**/*.test.ts"],
						environment: "node",
						testTimeout: 30_000,
						hookTimeout: 120_000,
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
