// A provider's bounce status and diagnostic → the bounce reason taxonomy (DESIGN.md), through the
// inbound classifier's own mapping (src/domain/inbound/reason.ts), so a bounce reads the same
// whether it came back as a DSN or as a provider event. Providers' own categories are mapped in
// their modules and fall back to this.
import type { BounceReason } from "../feedback/model";
import { classifyReason, normalizeStatus } from "../inbound/reason";
import { statusIn as statusInText } from "../inbound/status";

/** The enhanced status code in a diagnostic, or one made from its SMTP reply code (`550` → `5.0.0`). */
export function statusIn(text: string | undefined): string | undefined {
	return statusInText(text ?? null) ?? undefined;
}

/** The reason for a bounce given its status code and/or the remote MTA's words. */
export function reasonOf(status: string | undefined, diagnostic: string | undefined): BounceReason {
	return classifyReason(normalizeStatus(status), diagnostic ?? null);
}
