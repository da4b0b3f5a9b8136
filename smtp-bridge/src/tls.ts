// The certificate and key the listeners present: from TLS_CERT_FILE/TLS_KEY_FILE when set (read
// again on SIGHUP), otherwise a self-signed pair generated once into TLS_DIR and kept for later runs.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import { generate } from "selfsigned";

export type TlsMaterial = { key: string; cert: string; source: "files" | "generated" | "reused" };

export type TlsSource = { certFile?: string | undefined; keyFile?: string | undefined; dir: string; hostname: string };

async function selfSigned(source: TlsSource): Promise<TlsMaterial> {
	const certPath = join(source.dir, "cert.pem");
	const keyPath = join(source.dir, "key.pem");
	if (existsSync(certPath) && existsSync(keyPath)) {
		return { cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8"), source: "reused" };
	}
	const notAfterDate = new Date(Date.now() + 825 * 24 * 3600 * 1000);
	const pems = await generate([{ name: "commonName", value: source.hostname }], {
		keySize: 2048,
		algorithm: "sha256",
		notAfterDate,
		extensions: [
			{
				name: "subjectAltName",
				altNames: [
					{ type: 2, value: source.hostname },
					{ type: 2, value: "localhost" },
					{ type: 7, ip: "127.0.0.1" },
					{ type: 7, ip: "::1" },
				],
			},
		],
	});
	mkdirSync(source.dir, { recursive: true, mode: 0o700 });
	writeFileSync(keyPath, pems.private, { mode: 0o600 });
	writeFileSync(certPath, pems.cert, { mode: 0o644 });
	return { cert: pems.cert, key: pems.private, source: "generated" };
}

/** Loads (or creates) the material and proves Node accepts it before any listener uses it. */
export async function loadTls(source: TlsSource): Promise<TlsMaterial> {
	const material =
		source.certFile && source.keyFile
			? {
					cert: readFileSync(source.certFile, "utf8"),
					key: readFileSync(source.keyFile, "utf8"),
					source: "files" as const,
				}
			: await selfSigned(source);
	// Throws on a key that does not match the certificate or unreadable PEM, so a bad reload keeps
	// the old pair instead of breaking every new session.
	createSecureContext({ key: material.key, cert: material.cert });
	return material;
}
