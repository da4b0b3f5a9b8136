// The Email Worker as `npm start` runs it: a message sent with the demo key leaves with its VERP
// Return-Path, and a DSN posted to wrangler dev's local email endpoint (/cdn-cgi/handler/email)
// bounces that recipient; a forged token is refused and changes nothing.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
	applyMigrations,
	DEMO_DOMAIN,
	DEMO_KEY,
	ensureDevVars,
	seedDemo,
	startWorker,
} from "../../scripts/lib/local.mjs";
import { dsn } from "./dsn";

// MQ_TEST_PORT lets checkouts run their node tests side by side; +6 is this file's slot.
const PORT = Number(process.env.MQ_TEST_PORT ?? 8790) + 6;
let dir = "";
let child: ChildProcess | undefined;
let url = "";

beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), "mq-node-inbound-"));
	ensureDevVars();
	applyMigrations(dir, { quiet: true });
	seedDemo(dir, { quiet: true });
	const started = await startWorker({ port: PORT, persistTo: dir, inheritOutput: false });
	child = started.child;
	child.stdout?.resume();
	child.stderr?.resume();
	url = started.url;
});

afterAll(() => {
	child?.kill("SIGTERM");
	if (dir) rmSync(dir, { recursive: true, force: true });
});

type Email = {
	status: string;
	events: { type: string; recipient: string | null }[];
	recipients: { email: string; status: string; return_path: string }[];
};

const getEmail = async (id: string) =>
	(await (await fetch(`${url}/v1/emails/${id}`, { headers: { authorization: `Bearer ${DEMO_KEY}` } })).json()) as Email;

const handEmail = (from: string, to: string, raw: string) =>
	fetch(`${url}/cdn-cgi/handler/email?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, {
		method: "POST",
		body: raw,
	});

describe("inbound mail under wrangler dev", () => {
	it("bounces a recipient through /cdn-cgi/handler/email, and refuses a forged token", async () => {
		const res = await fetch(`${url}/v1/emails`, {
			method: "POST",
			headers: { authorization: `Bearer ${DEMO_KEY}`, "content-type": "application/json" },
			body: JSON.stringify({ from: `app@${DEMO_DOMAIN}`, to: ["gone@x.test"], subject: "Hi", text: "Hi" }),
		});
		expect(res.status).toBe(202);
		const { id } = (await res.json()) as { id: string };
		let email = await getEmail(id);
		for (let i = 0; i < 100 && email.status !== "sent"; i++) {
			await new Promise((r) => setTimeout(r, 200));
			email = await getEmail(id);
		}
		expect(email.status).toBe("sent");
		const returnPath = email.recipients[0]?.return_path ?? "";
		expect(returnPath).toMatch(/^bounces\+[0-9a-z]{50}@bounces\.example\.test$/);

		const at = returnPath.indexOf("@");
		const forged = `${returnPath.slice(0, at - 1)}${returnPath[at - 1] === "0" ? "1" : "0"}${returnPath.slice(at)}`;
		const refused = await handEmail("MAILER-DAEMON@mx.remote.test", forged, dsn(forged, "gone@x.test", id));
		// wrangler dev answers 200 either way and prints the rejection in its log; what counts is that nothing changed.
		expect(refused.status).toBe(200);
		const untouched = await getEmail(id);
		expect(untouched.recipients[0]?.status).toBe("sent");
		expect(untouched.events.some((e) => e.type === "bounced")).toBe(false);

		const taken = await handEmail("MAILER-DAEMON@mx.remote.test", returnPath, dsn(returnPath, "gone@x.test", id));
		expect(taken.status).toBe(200);
		const after = await getEmail(id);
		expect(after.recipients[0]?.status).toBe("bounced");
		expect(after.events.some((e) => e.type === "bounced" && e.recipient === "gone@x.test")).toBe(true);
	});
});
