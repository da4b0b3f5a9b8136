// SES end to end against aws-ses-v2-local on 127.0.0.1: the SigV4-signed SendEmail is accepted and
// the message shows up in the local store.
import { describe, expect, inject, it } from "vitest";
import { createSesGateway } from "../../src/providers/ses";
import { build, envelopeOf, sampleMessage, signal } from "../helpers/providers";

const servers = inject("localServers");
const base = `http://127.0.0.1:${servers.ses}`;
const ses = () =>
	build(
		createSesGateway,
		{
			type: "ses",
			config: { region: "us-east-1", base_url: base },
			credentials: {
				access_key_id: "AKIAIOSFODNN7EXAMPLE",
				secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			},
		},
		fetch,
	);

describe("ses driver against aws-ses-v2-local", () => {
	it("sends the raw MIME and the message appears in the store", async () => {
		const result = await ses().send(sampleMessage({ subject: "Hello" }), envelopeOf("ada@example.org"), signal());
		const [r] = result.recipients;
		expect(r?.status).toBe("accepted");
		const id = r?.status === "accepted" ? r.providerMessageId : null;
		expect(id).toEqual(expect.any(String));
		const store = (await (await fetch(`${base}/store`)).json()) as {
			emails: { messageId: string; subject: string; from: string }[];
		};
		const stored = store.emails.find((e) => e.messageId === id);
		expect(stored).toMatchObject({ subject: "Hello" });
		expect(stored?.from).toContain("app@example.test");
	});

	it("checks the account with GetAccount", async () => {
		expect(await ses().check?.(signal())).toEqual({ ok: true, detail: "sending enabled, 50000 per 24 h" });
	});
});
