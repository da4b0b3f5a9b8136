// `npm run deploy -- --env <staging|production>`: applies pending D1 migrations to the environment's
// remote database, then deploys the Worker. Needs `wrangler login` (or CLOUDFLARE_API_TOKEN) and the
// resources and secrets of docs/deploy.md.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const wrangler = join(root, "node_modules", ".bin", "wrangler");
const args = process.argv.slice(2);
const envIndex = args.indexOf("--env");
const environment = envIndex >= 0 ? args[envIndex + 1] : undefined;
if (environment !== "staging" && environment !== "production") {
	console.error("usage: npm run deploy -- --env staging|production");
	process.exit(2);
}

function run(step) {
	console.log(`== wrangler ${step.join(" ")}`);
	const result = spawnSync(wrangler, step, { cwd: root, stdio: "inherit" });
	if (result.status !== 0) process.exit(result.status ?? 1);
}

run(["d1", "migrations", "apply", "DB", "--remote", ...args]);
run(["deploy", ...args]);
