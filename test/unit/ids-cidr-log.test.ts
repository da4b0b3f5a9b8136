// Helpers behind stable ids, allowlist narrowing and safe logs.
import { describe, expect, it } from "vitest";
import { cidrWithin } from "../../src/lib/cidr";
import { idempotentMessageId, MESSAGE_ID_LENGTH, ulidTime, verifyMessageId } from "../../src/lib/ids";
import { errorSummary } from "../../src/lib/log";

const SECRET = "s".repeat(40);

describe("idempotentMessageId", () => {
	it("is stable for one workspace, key and index, and carries the first-seen time", async () => {
		const at = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
		const a = await idempotentMessageId(SECRET, "ws_a", "k", 0, at);
		expect(a).toHaveLength(MESSAGE_ID_LENGTH);
		expect(await idempotentMessageId(SECRET, "ws_a", "k", 0, at)).toBe(a);
		expect(ulidTime(a)).toBe(at);
		expect(await verifyMessageId(SECRET, "ws_a", a)).toBe(true);
		expect(await verifyMessageId(SECRET, "ws_b", a)).toBe(false);
	});

	it("differs per index, key, workspace and secret", async () => {
		const ids = await Promise.all([
			idempotentMessageId(SECRET, "ws_a", "k", 0, 1),
			idempotentMessageId(SECRET, "ws_a", "k", 1, 1),
			idempotentMessageId(SECRET, "ws_a", "k2", 0, 1),
			idempotentMessageId(SECRET, "ws_b", "k", 0, 1),
			idempotentMessageId("t".repeat(40), "ws_a", "k", 0, 1),
		]);
		expect(new Set(ids.map((id) => id.slice(10, 26))).size).toBe(5);
	});
});

describe("cidrWithin", () => {
	it("is true only when every address of the inner range is in the outer one", () => {
		expect(cidrWithin("10.1.0.0/16", "10.0.0.0/8")).toBe(true);
		expect(cidrWithin("10.1.2.3", "10.0.0.0/8")).toBe(true);
		expect(cidrWithin("10.0.0.0/8", "10.0.0.0/8")).toBe(true);
		expect(cidrWithin("10.0.0.0/7", "10.0.0.0/8")).toBe(false);
		expect(cidrWithin("0.0.0.0/0", "10.0.0.0/8")).toBe(false);
		expect(cidrWithin("11.0.0.0/16", "10.0.0.0/8")).toBe(false);
		expect(cidrWithin("2001:db8:1::/48", "2001:db8::/32")).toBe(true);
		expect(cidrWithin("2001:db9::/48", "2001:db8::/32")).toBe(false);
		expect(cidrWithin("10.0.0.1", "::/0")).toBe(false);
		expect(cidrWithin("nonsense", "10.0.0.0/8")).toBe(false);
	});
});

describe("errorSummary", () => {
	it("keeps the kind and a short message, without addresses or keys", () => {
		const error = new TypeError(
			`bad recipient Ada <ada@example.test> with Bearer mq_live_secretsecretsecret1 ${"x".repeat(500)}`,
		);
		const summary = errorSummary(error);
		expect(summary.startsWith("TypeError: bad recipient Ada <")).toBe(true);
		expect(summary).not.toContain("ada@example.test");
		expect(summary).not.toContain("secretsecret");
		expect(summary.length).toBeLessThan(260);
		expect(errorSummary("just a string")).toBe("string");
	});
});
