// Calls the Worker's HTTP API the way a client would, through the real fetch entrypoint.
import { exports } from "cloudflare:workers";

export type CallOptions = {
	key?: string | undefined;
	body?: unknown;
	rawBody?: string;
	headers?: Record<string, string>;
	method?: string;
};

export async function call(path: string, options: CallOptions = {}): Promise<Response> {
	const headers: Record<string, string> = { ...options.headers };
	if (options.key) headers.authorization = `Bearer ${options.key}`;
	let body: string | undefined = options.rawBody;
	if (options.body !== undefined) {
		body = JSON.stringify(options.body);
		headers["content-type"] ??= "application/json";
	}
	return exports.default.fetch(
		new Request(`https://relay.test${path}`, {
			method: options.method ?? (body === undefined ? "GET" : "POST"),
			headers,
			body,
		}),
	);
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
	return (await response.json()) as T;
}

export function email(domain: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
	return {
		from: `App <app@${domain}>`,
		to: ["a@x.test"],
		subject: "Hi",
		html: "<p>Hi</p>",
		text: "Hi",
		tags: ["welcome"],
		metadata: { order: "42" },
		...overrides,
	};
}
