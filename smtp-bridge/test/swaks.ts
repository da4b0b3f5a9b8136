// swaks, the SMTP test client every mail admin knows, for the tests. Installed from Debian (package
// `swaks`) when missing and the tests run as root with apt; otherwise the tests that need it are
// skipped with the reason in their name, never silently.
import { spawn, spawnSync } from "node:child_process";

export type SwaksAvailability = { ok: true } | { ok: false; reason: string };

const run = (cmd: string, args: string[]) =>
	spawnSync(cmd, args, {
		encoding: "utf8",
		timeout: 300_000,
		env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
	});

/** swaks with TLS: Net::SSLeay is only a Recommends of the Debian package. */
const present = () => {
	const support = run("swaks", ["--support"]);
	return support.status === 0 && /=== TLS supported/.test(`${support.stdout}${support.stderr}`);
};

export function ensureSwaks(): SwaksAvailability {
	if (present()) return { ok: true };
	if (process.getuid?.() !== 0)
		return { ok: false, reason: "swaks (with Net::SSLeay for TLS) is not installed and the tests do not run as root" };
	if (run("apt-get", ["--version"]).status !== 0)
		return { ok: false, reason: "swaks is not installed and apt-get is missing" };
	const install = () => run("apt-get", ["install", "-y", "--no-install-recommends", "swaks", "libnet-ssleay-perl"]);
	let result = install();
	// A fresh machine may have no package lists yet.
	if (result.status !== 0) {
		run("apt-get", ["update"]);
		result = install();
	}
	if (result.status === 0 && present()) return { ok: true };
	return {
		ok: false,
		reason: `apt-get install swaks failed: ${(result.stderr || result.stdout || "").trim().slice(-200)}`,
	};
}

export type SwaksResult = { status: number | null; output: string };

/**
 * Runs swaks; its transcript holds every SMTP reply. Asynchronous: the bridge under test may live
 * in this very process and must keep answering while swaks talks to it.
 */
export function swaks(args: string[]): Promise<SwaksResult> {
	return new Promise((resolve, reject) => {
		const child = spawn("swaks", args, { stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
		let output = "";
		child.stdout.on("data", (d: Buffer) => {
			output += d.toString("utf8");
		});
		child.stderr.on("data", (d: Buffer) => {
			output += d.toString("utf8");
		});
		child.once("error", reject);
		child.once("close", (status) => resolve({ status, output }));
	});
}

/** The id in the bridge's `250 2.0.0 Ok: queued as <id>`, or null. */
export function queuedId(output: string): string | null {
	// `<-` in the clear, `<~` inside TLS.
	return /<[-~]\s+250 2\.0\.0 Ok: queued as (\S+)/.exec(output)?.[1] ?? null;
}
