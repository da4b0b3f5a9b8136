#!/usr/bin/env node
// `mail-queue-smtp-bridge`: configuration from the environment, SIGHUP reloads the certificate,
// SIGTERM/SIGINT drain the sessions and exit.
import { startBridge } from "./bridge.js";
import { loadConfig } from "./config.js";
import { errorSummary, jsonLogger } from "./log.js";

const log = jsonLogger;

async function main(): Promise<void> {
	const config = loadConfig(process.env);
	const bridge = await startBridge(config, log);
	log("info", "ready", {
		worker: config.MQ_WORKER_URL,
		ports: bridge.listeners.map((l) => `${l.address.port}/${l.mode}`).join(","),
		health_port: bridge.healthPort,
	});

	process.on("SIGHUP", () => {
		void bridge.reloadTls();
	});
	let stopping = false;
	const stop = (signal: string) => {
		if (stopping) return;
		stopping = true;
		log("info", "signal", { signal });
		bridge.close().then(
			() => process.exit(0),
			(error: unknown) => {
				log("error", "shutdown failed", { error: errorSummary(error) });
				process.exit(1);
			},
		);
	};
	process.on("SIGTERM", () => stop("SIGTERM"));
	process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
	log("error", "failed to start", { error: errorSummary(error) });
	process.exit(1);
});
