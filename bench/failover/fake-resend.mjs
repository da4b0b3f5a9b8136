// A fake Resend API on 127.0.0.1 for bench/failover: answers `POST /emails` with `{"id": "<uuid>"}`
// (200), or with Resend's error shape and 503 while `failing()` says so, and records every call's
// time, recipients, Idempotency-Key and answer. `GET /domains` (the relay's credential check) follows
// the same switch.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";

/**
 * @param {{ name: string, failing?: () => boolean, onCall?: (call: { at: number, to: string[], key: string | null, status: number }) => void }} options
 * `onCall` sees every recorded send as it is answered (the bench's half-way switch).
 */
export async function startFakeResend({ name, failing = () => false, onCall = () => {} }) {
	/** @type {{ at: number, to: string[], key: string | null, status: number }[]} */
	const calls = [];
	const server = createServer((req, res) => {
		const chunks = [];
		req.on("data", (c) => chunks.push(c));
		req.on("end", () => {
			const fail = failing();
			if (req.method === "GET" && req.url === "/domains") {
				res.writeHead(fail ? 503 : 200, { "content-type": "application/json" });
				res.end(JSON.stringify(fail ? unavailable() : { data: [] }));
				return;
			}
			if (req.method !== "POST" || req.url !== "/emails") {
				res.writeHead(404, { "content-type": "application/json" });
				res.end(JSON.stringify({ statusCode: 404, name: "not_found", message: "no such route" }));
				return;
			}
			let to = [];
			try {
				const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
				to = [...(body.to ?? []), ...(body.cc ?? []), ...(body.bcc ?? [])].map(addressOf);
			} catch {
				// recorded with no recipients: the relay sent something that is not Resend JSON
			}
			const status = fail ? 503 : 200;
			const key = req.headers["idempotency-key"];
			const call = { at: Date.now(), to, key: typeof key === "string" ? key : null, status };
			calls.push(call);
			onCall(call);
			res.writeHead(status, { "content-type": "application/json" });
			res.end(JSON.stringify(fail ? unavailable() : { id: randomUUID() }));
		});
	});
	await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
	const address = server.address();
	const port = typeof address === "object" && address ? address.port : 0;
	return {
		name,
		url: `http://127.0.0.1:${port}`,
		calls,
		close: () => new Promise((resolve) => server.close(resolve)),
	};
}

const unavailable = () => ({ statusCode: 503, name: "internal_server_error", message: "fake outage" });

/** `Name <a@b>` or `a@b` → `a@b`. */
function addressOf(mailbox) {
	const text = String(mailbox);
	const m = text.match(/<([^>]+)>\s*$/);
	return (m ? m[1] : text).trim().toLowerCase();
}
