// The DoH client against the fake resolver on 127.0.0.1 (test/helpers/local-servers.ts): what it
// finds, what it calls missing, and what it refuses to call missing.
import { describe, expect, it } from "vitest";
import { type DnsConfig, lookup, txtValue } from "../../src/domain/domain-checks/doh";
import { cnameRr, dohBase, mxRr, publishTxt, setDns, txtRr, uniqueDomain } from "../helpers/doh";

const dns = (timeoutMs = 400): DnsConfig => ({
	url: `${dohBase()}/dns-query`,
	timeoutMs,
	fetch: (input, init) => fetch(input, init),
});

describe("DoH lookups", () => {
	it("finds TXT records, one value per record", async () => {
		const name = uniqueDomain();
		await publishTxt(name, "v=spf1 -all", "mq-verify=abc");
		expect(await lookup(dns(), name, "TXT")).toEqual({
			kind: "found",
			values: ["v=spf1 -all", "mq-verify=abc"],
			via: [],
		});
	});

	it("joins a TXT record split into several strings, and decodes escapes", async () => {
		const name = uniqueDomain();
		await publishTxt(name, ["v=spf1 include:mailgun.org ", "include:sendgrid.net ~all"], 'say "hi"\\now');
		const found = await lookup(dns(), name, "TXT");
		expect(found).toMatchObject({ kind: "found" });
		expect(found.kind === "found" && found.values).toEqual([
			"v=spf1 include:mailgun.org include:sendgrid.net ~all",
			'say "hi"\\now',
		]);
		expect(txtValue('"a" "b" "c"')).toBe("abc");
		expect(txtValue('"caf\\195\\169"')).toBe("caf\u00c3\u00a9");
		// Google's resolver sends the value unquoted and already joined.
		expect(txtValue("v=DMARC1; p=none")).toBe("v=DMARC1; p=none");
	});

	it("calls NXDOMAIN and an empty NOERROR answer missing", async () => {
		expect(await lookup(dns(), uniqueDomain(), "TXT")).toEqual({ kind: "none", rcode: "NXDOMAIN", via: [] });
		const empty = uniqueDomain();
		await setDns(empty, "TXT", { status: 0 });
		expect(await lookup(dns(), empty, "TXT")).toEqual({ kind: "none", rcode: "NOERROR", via: [] });
	});

	it("follows a CNAME chain inside one answer, and asks again where the resolver stopped at a CNAME", async () => {
		const name = uniqueDomain("alias");
		const hop = uniqueDomain("hop");
		const target = uniqueDomain("target");
		// A full answer: alias → hop → target, with the TXT at the end of the chain.
		await setDns(name, "TXT", { answer: [cnameRr(name, hop), cnameRr(hop, target), txtRr(target, "mq-verify=t")] });
		expect(await lookup(dns(), name, "TXT")).toEqual({ kind: "found", values: ["mq-verify=t"], via: [hop, target] });

		// A resolver that answers only the CNAME: the client queries the target itself.
		const short = uniqueDomain("short");
		await setDns(short, "TXT", { answer: [cnameRr(short, target)] });
		await publishTxt(target, "mq-verify=t2");
		expect(await lookup(dns(), short, "TXT")).toEqual({ kind: "found", values: ["mq-verify=t2"], via: [target] });

		// A CNAME to a name that does not exist is missing, not an error.
		const dangling = uniqueDomain("dangling");
		await setDns(dangling, "TXT", { status: 3, answer: [cnameRr(dangling, uniqueDomain("gone"))] });
		expect(await lookup(dns(), dangling, "TXT")).toMatchObject({ kind: "none", rcode: "NXDOMAIN" });
	});

	it("gives up on a CNAME loop as temporary, not missing", async () => {
		const a = uniqueDomain("a");
		const b = uniqueDomain("b");
		await setDns(a, "TXT", { answer: [cnameRr(a, b)] });
		await setDns(b, "TXT", { answer: [cnameRr(b, a)] });
		expect(await lookup(dns(), a, "TXT")).toMatchObject({
			kind: "temporary",
			reason: expect.stringContaining("CNAME"),
		});
	});

	it("treats SERVFAIL, REFUSED, HTTP errors, an unreachable and a slow resolver as temporary", async () => {
		const servfail = uniqueDomain();
		await setDns(servfail, "TXT", { status: 2 });
		expect(await lookup(dns(), servfail, "TXT")).toEqual({
			kind: "temporary",
			reason: "the resolver answered SERVFAIL",
		});
		const refused = uniqueDomain();
		await setDns(refused, "TXT", { status: 5 });
		expect(await lookup(dns(), refused, "TXT")).toMatchObject({ reason: "the resolver answered REFUSED" });
		const http = uniqueDomain();
		await setDns(http, "TXT", { http: 503 });
		expect(await lookup(dns(), http, "TXT")).toMatchObject({ reason: "the resolver answered HTTP 503" });
		const slow = uniqueDomain();
		await setDns(slow, "TXT", { delayMs: 1500, answer: [txtRr(slow, "mq-verify=late")] });
		const started = Date.now();
		expect(await lookup(dns(300), slow, "TXT")).toEqual({
			kind: "temporary",
			reason: "the resolver did not answer within 300 ms",
		});
		// The same record answered in time is found: the slowness, not the record, made it temporary.
		expect(Date.now() - started).toBeLessThan(1500);
		expect(await lookup(dns(3000), slow, "TXT")).toMatchObject({ kind: "found", values: ["mq-verify=late"] });
		// Nothing listening.
		const down: DnsConfig = { ...dns(), url: "http://127.0.0.1:9/dns-query" };
		expect(await lookup(down, servfail, "TXT")).toMatchObject({ kind: "temporary" });
	});

	it("reads MX hosts", async () => {
		const name = uniqueDomain("bounces");
		await setDns(name, "MX", { answer: [mxRr(name, "MX.Relay.Example.net")] });
		expect(await lookup(dns(), name, "MX")).toEqual({ kind: "found", values: ["mx.relay.example.net"], via: [] });
	});
});
