// swaks through the bridge: plain AUTH from loopback, STARTTLS with AUTH LOGIN, and a refusal.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../src/bridge.js";
import { type FakeWorker, fakeWorker, KEY, portOf, refusal, testBridge } from "./helpers.js";
import { ensureSwaks, queuedId, swaks } from "./swaks.js";

const available = ensureSwaks();
const why = available.ok ? "" : ` (SKIPPED: ${available.reason})`;
if (!available.ok) console.warn(`smtp-bridge swaks tests skipped: ${available.reason}`);

let worker: FakeWorker;
let bridge: Bridge;

beforeAll(async () => {
	worker = await fakeWorker();
	bridge = await testBridge(worker.url);
});
afterAll(async () => {
	await bridge?.close();
	await worker?.close();
});

const base = () => [
	"--server",
	`127.0.0.1:${portOf(bridge)}`,
	"--from",
	"app@example.test",
	"--to",
	"ada@x.test",
	"--header",
	"Subject: swaks test",
	"--body",
	"Hello from swaks",
];

describe.skipIf(!available.ok)(`swaks${why}`, () => {
	it("sends with AUTH PLAIN in the clear from loopback and gets 250 with the id", async () => {
		const result = await swaks([...base(), "--auth", "PLAIN", "--auth-user", "demo", "--auth-password", KEY]);
		expect(result.status).toBe(0);
		expect(queuedId(result.output)).toMatch(/^01TESTID/);
		const raw = Buffer.from(String(worker.messages().at(-1)?.body.raw), "base64").toString("utf8");
		expect(raw).toContain("Subject: swaks test");
		expect(raw).toContain("Hello from swaks");
	});

	it("sends over STARTTLS with AUTH LOGIN", async () => {
		const result = await swaks([...base(), "-tls", "--auth", "LOGIN", "--auth-user", "demo", "--auth-password", KEY]);
		expect(result.status).toBe(0);
		expect(result.output).toMatch(/TLS started/);
		expect(queuedId(result.output)).not.toBeNull();
	});

	it("shows the bridge's 550 5.7.1 for a sender domain the workspace has not verified", async () => {
		worker.set((call) =>
			call.path === "/v1/smtp/messages"
				? refusal(422, "domain_not_verified", 'The sender domain "example.test" is not verified')
				: { status: 200, body: {} },
		);
		const result = await swaks([...base(), "--auth", "PLAIN", "--auth-user", "demo", "--auth-password", KEY]);
		expect(result.status).not.toBe(0);
		expect(result.output).toMatch(/<\*\* +550 5\.7\.1 The sender domain/);
	});
});
