// Starts the SMTP bridge (smtp-bridge/) from its TypeScript source beside a local Worker, for
// `npm start` and the node tests. The container runs the built dist/ instead (smtp-bridge/Dockerfile).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./local.mjs";

export const BRIDGE_DIR = join(ROOT, "smtp-bridge");

/**
 * Resolves once the bridge logs "ready" (its listeners are up), with the child and that log line.
 * `onLine` sees every JSON log line; by default they are printed prefixed with [smtp].
 */
export function startBridge({ workerUrl, env = {}, onLine, detached = false } = {}) {
	const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
		cwd: BRIDGE_DIR,
		env: { ...process.env, MQ_WORKER_URL: workerUrl, ...env },
		stdio: ["ignore", "pipe", "pipe"],
		detached,
	});
	const print = onLine ?? ((line) => process.stdout.write(`[smtp] ${line}\n`));
	child.stderr.on("data", (d) => process.stderr.write(`[smtp] ${d}`));
	return new Promise((resolve, reject) => {
		let partial = "";
		let ready = false;
		child.stdout.on("data", (d) => {
			partial += d.toString("utf8");
			const lines = partial.split("\n");
			partial = lines.pop() ?? "";
			for (const line of lines) {
				if (!line.trim()) continue;
				print(line);
				let entry = null;
				try {
					entry = JSON.parse(line);
				} catch {
					continue;
				}
				if (!ready && entry.msg === "ready") {
					ready = true;
					resolve({ child, ready: entry });
				}
			}
		});
		child.once("exit", (code) => {
			if (!ready) reject(new Error(`the SMTP bridge exited (${code}) before it was ready`));
		});
	});
}
