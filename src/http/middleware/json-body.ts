// Request bodies: at most MAX_BODY_BYTES (413), JSON only (415), well-formed (400) — each answered with
// the error envelope before any route code runs. A body without a Content-Type, or with curl's default
// `application/x-www-form-urlencoded`, is read as JSON when it parses as JSON, because `curl -d '{…}'`
// is how most people first call an API.
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../../errors";
import type { AppEnv } from "../context";

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;
const TOLERATED = new Set(["", "application/x-www-form-urlencoded"]);

export const limitBody = createMiddleware<AppEnv>((c, next) =>
	bodyLimit({
		maxSize: c.var.config.MAX_BODY_BYTES,
		onError: () => {
			throw new ApiError("payload_too_large", `The request body is larger than ${c.var.config.MAX_BODY_BYTES} bytes.`);
		},
	})(c, next),
);

export const jsonBody = createMiddleware<AppEnv>(async (c, next) => {
	if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.method === "DELETE") return next();
	const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
	const text = await c.req.text();
	c.set("rawBody", text);
	if (text.length === 0) {
		// An empty body is no body, whatever its Content-Type says; routes that need one say so.
		if (mediaType !== "") {
			const headers = new Headers(c.req.raw.headers);
			headers.delete("content-type");
			c.req.raw = new Request(c.req.raw.url, { method: c.req.method, headers });
		}
		return next();
	}
	const isJson = JSON_TYPE.test(mediaType);
	if (!isJson && !TOLERATED.has(mediaType)) {
		throw new ApiError(
			"unsupported_media_type",
			`Content-Type ${mediaType} is not supported; send JSON with Content-Type: application/json.`,
		);
	}
	try {
		JSON.parse(text);
	} catch (error) {
		if (!isJson && mediaType !== "") {
			throw new ApiError(
				"unsupported_media_type",
				"The body is not JSON; send JSON with Content-Type: application/json.",
			);
		}
		throw new ApiError("invalid_json", `The request body is not valid JSON: ${(error as Error).message}`);
	}
	if (!isJson) {
		const headers = new Headers(c.req.raw.headers);
		headers.set("content-type", "application/json");
		c.req.raw = new Request(c.req.raw.url, { method: c.req.method, headers, body: text });
	}
	return next();
});
