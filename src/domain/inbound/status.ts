// Status codes read out of free text: the RFC 3463 enhanced code when one is given, else the class of
// the SMTP reply code (550 → 5.0.0), so every bounced recipient carries a status when the text has one.

const ENHANCED = /(?:^|[\s(#[:;-])([245]\.\d{1,3}\.\d{1,3})(?=$|[\s).,;:\]-])/;
const REPLY = /(?:^|[\s(:;-])([45]\d\d)(?=[\s-]|$)/;

export function enhancedIn(text: string | null): string | null {
	if (!text) return null;
	return ENHANCED.exec(text)?.[1] ?? null;
}

export function replyCodeIn(text: string | null): string | null {
	if (!text) return null;
	return REPLY.exec(text)?.[1] ?? null;
}

/** The enhanced code in `text`, else `N.0.0` from its SMTP reply code, else null. */
export function statusIn(text: string | null): string | null {
	const enhanced = enhancedIn(text);
	if (enhanced) return enhanced;
	const reply = replyCodeIn(text);
	return reply ? `${reply[0]}.0.0` : null;
}

/** RFC 3464 Action for a status class. */
export function actionFor(status: string | null, fallback: "failed" | "delayed"): "failed" | "delayed" {
	if (status?.startsWith("4")) return "delayed";
	if (status?.startsWith("5")) return "failed";
	return fallback;
}
