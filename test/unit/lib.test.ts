// Pure helpers: addresses, CIDR matching, ids, sealing secrets, retry schedule, MIME rendering.
import { describe, expect, it } from "vitest";
import { chunkJson } from "../../src/db/repositories/delivery";
import { retryDelaySeconds } from "../../src/domain/delivery/retry";
import { formatMailbox, parseMailbox } from "../../src/lib/address";
import { ipAllowed, ipInCidr, isValidCidr } from "../../src/lib/cidr";
import { decryptSecret, encryptSecret } from "../../src/lib/crypto";
import { base64url, utf8Length } from "../../src/lib/encoding";
import { MESSAGE_ID_LENGTH, newMessageId, ulid, ulidTime, verifyMessageId } from "../../src/lib/ids";

const KEY = "test-signing-key-0123456789abcdef0123456789";

describe("parseMailbox", () => {
	it.each([
		["a@x.test", { email: "a@x.test" }],
		["App <app@Example.TEST>", { email: "app@example.test", name: "App" }],
		['"Doe, Jane" <jane@x.test>', { email: "jane@x.test", name: "Doe, Jane" }],
		["  <bare@x.test> ", { email: "bare@x.test" }],
		["Ünïcode Näme <u@x.test>", { email: "u@x.test", name: "Ünïcode Näme" }],
	])("parses %s", (input, expected) => expect(parseMailbox(input)).toEqual(expected));

	it.each([
		"nobody",
		"a@b",
		"a b@x.test",
		"<a@x.test",
		"a@x.test>",
		"a@-x.test",
		"x <a@x.test> y",
		"",
	])("refuses %s", (input) => expect(parseMailbox(input)).toBeNull());

	it("formats names that need quoting", () => {
		expect(formatMailbox({ email: "a@x.test", name: "Doe, Jane" })).toBe('"Doe, Jane" <a@x.test>');
		expect(formatMailbox({ email: "a@x.test" })).toBe("a@x.test");
	});
});

describe("CIDR", () => {
	it("matches IPv4, IPv6 and IPv4-mapped addresses", () => {
		expect(ipInCidr("10.1.2.3", "10.0.0.0/8")).toBe(true);
		expect(ipInCidr("11.0.0.1", "10.0.0.0/8")).toBe(false);
		expect(ipInCidr("192.168.1.1", "192.168.1.1")).toBe(true);
		expect(ipInCidr("0.0.0.1", "0.0.0.0/0")).toBe(true);
		expect(ipInCidr("2001:db8::1", "2001:db8::/32")).toBe(true);
		expect(ipInCidr("2001:db9::1", "2001:db8::/32")).toBe(false);
		expect(ipInCidr("::ffff:10.0.0.1", "10.0.0.0/8")).toBe(true);
		expect(ipInCidr("10.0.0.1", "2001:db8::/32")).toBe(false);
	});

	it("validates ranges", () => {
		for (const ok of ["10.0.0.0/8", "::/0", "fe80::1", "1.2.3.4"]) expect(isValidCidr(ok), ok).toBe(true);
		for (const bad of ["10.0.0.0/33", "256.0.0.1", "1.2.3", "::g", "1::2::3", "10.0.0.0/8/1", ""])
			expect(isValidCidr(bad), bad).toBe(false);
	});

	it("admits anyone with an empty allowlist and no one unknown with a set one", () => {
		expect(ipAllowed(null, [])).toBe(true);
		expect(ipAllowed(null, ["10.0.0.0/8"])).toBe(false);
	});
});

describe("ids", () => {
	it("makes time-ordered ULIDs that carry their time", () => {
		const t = Date.UTC(2026, 10, 22);
		const a = ulid(t);
		expect(a).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
		expect(ulidTime(a)).toBe(t);
		expect(ulid(t + 1) > a).toBe(true);
	});

	it("tags message ids so only the issuing workspace can use them", async () => {
		const id = await newMessageId(KEY, "ws_a");
		expect(id).toHaveLength(MESSAGE_ID_LENGTH);
		expect(await verifyMessageId(KEY, "ws_a", id)).toBe(true);
		expect(await verifyMessageId(KEY, "ws_b", id)).toBe(false);
		expect(await verifyMessageId("another-key-0123456789abcdef0123456789", "ws_a", id)).toBe(false);
		const flipped = id.slice(0, -1) + (id.endsWith("0") ? "1" : "0");
		expect(await verifyMessageId(KEY, "ws_a", flipped)).toBe(false);
	});
});

describe("secrets at rest", () => {
	it("seals with AES-256-GCM and refuses tampering", async () => {
		const key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
		const sealed = await encryptSecret(key, "smtp-password");
		expect(sealed).toMatch(/^v1\./);
		expect(sealed).not.toContain("smtp-password");
		expect(await decryptSecret(key, sealed)).toBe("smtp-password");
		expect(await encryptSecret(key, "smtp-password")).not.toBe(sealed);
		const tampered = `${sealed.slice(0, -4)}AAAA`;
		await expect(decryptSecret(key, tampered)).rejects.toThrow();
	});
});

describe("retry schedule", () => {
	it("is immediate, 30 s, 2 min, 10 min, then hourly", () => {
		expect([1, 2, 3, 4, 5, 6, 9].map((a) => retryDelaySeconds(a))).toEqual([0, 30, 120, 600, 3600, 3600, 3600]);
	});
});

describe("chunkJson", () => {
	it("keeps every chunk under the byte limit and loses no item", () => {
		const items = Array.from({ length: 100 }, (_, i) => ({ i, body: "é".repeat(20_000) }));
		const chunks = chunkJson(items, 1_500_000);
		expect(chunks.length).toBeGreaterThan(1);
		for (const c of chunks) expect(new TextEncoder().encode(c).byteLength).toBeLessThanOrEqual(1_500_000);
		expect(chunks.flatMap((c) => JSON.parse(c) as unknown[])).toEqual(items);
		expect(chunkJson([], 10)).toEqual([]);
	});
});

describe("base64url", () => {
	it("is unpadded URL-safe base64", () => {
		expect(base64url(new Uint8Array([251, 255, 191]))).toBe("-_-_");
		expect(base64url(new Uint8Array([1]))).toBe("AQ");
	});
});

describe("utf8Length", () => {
	it("counts bytes as TextEncoder does", () => {
		for (const text of ["", "ascii", "é", "界界", "😀", "a😀b界é", "\u{10FFFF}"]) {
			expect(utf8Length(text), text).toBe(new TextEncoder().encode(text).byteLength);
		}
	});
});
