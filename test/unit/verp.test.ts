// VERP bounce addresses: short, case-insensitive, and only this relay's HMAC makes one verify.
import { describe, expect, it } from "vitest";
import { recipientHash, returnPathFor, verifyVerpLocalPart } from "../../src/domain/inbound/verp";
import { newMessageId } from "../../src/lib/ids";

const KEY = "verp-test-signing-key-0123456789abcdef";
const config = { signingKey: KEY };

async function pathFor(recipients: string[], recipient: string) {
	const messageId = await newMessageId(KEY, "ws_1");
	const path = await returnPathFor(config, {
		messageId,
		fromEmail: "app@acme.test",
		messageRecipients: recipients,
		recipient,
	});
	return { messageId, path, local: path.slice(0, path.indexOf("@")) };
}

describe("VERP return paths", () => {
	it("name the message and the recipient of a single-recipient message, at bounces.<domain>", async () => {
		const { messageId, path, local } = await pathFor(["Ann@x.test"], "Ann@x.test");
		expect(path).toMatch(/^bounces\+[0-9a-z]{50}@bounces\.acme\.test$/);
		expect(local.length).toBeLessThanOrEqual(64);
		expect(await verifyVerpLocalPart(KEY, local)).toEqual({
			messageId,
			recipientHash: await recipientHash("ann@x.test"),
		});
		// MTAs that fold the local part's case do not break it.
		expect(await verifyVerpLocalPart(KEY, local.toUpperCase())).not.toBeNull();
	});

	it("are one message-level token for a message with several recipients", async () => {
		const { messageId, local } = await pathFor(["a@x.test", "b@x.test"], "a@x.test");
		expect(local).toMatch(/^bounces\+[0-9a-z]{44}$/);
		expect(await verifyVerpLocalPart(KEY, local)).toEqual({ messageId, recipientHash: null });
	});

	it("use the configured bounce domain when there is one", async () => {
		const messageId = await newMessageId(KEY, "ws_1");
		const path = await returnPathFor(
			{ signingKey: KEY, bounceDomain: "bounces.example.test" },
			{ messageId, fromEmail: "app@acme.test", messageRecipients: ["a@x.test"], recipient: "a@x.test" },
		);
		expect(path.endsWith("@bounces.example.test")).toBe(true);
	});

	it("refuse a changed character, another key, a changed recipient hash and other local parts", async () => {
		const { local } = await pathFor(["a@x.test"], "a@x.test");
		expect(await verifyVerpLocalPart(KEY, local)).not.toBeNull();
		const last = local.at(-1) === "0" ? "1" : "0";
		expect(await verifyVerpLocalPart(KEY, `${local.slice(0, -1)}${last}`)).toBeNull();
		expect(await verifyVerpLocalPart(`${KEY}x`, local)).toBeNull();
		const hashAt = "bounces+".length + 34;
		const swapped = `${local.slice(0, hashAt)}${local[hashAt] === "a" ? "b" : "a"}${local.slice(hashAt + 1)}`;
		expect(await verifyVerpLocalPart(KEY, swapped)).toBeNull();
		expect(await verifyVerpLocalPart(KEY, "support")).toBeNull();
		expect(await verifyVerpLocalPart(KEY, "bounces+short")).toBeNull();
	});
});
