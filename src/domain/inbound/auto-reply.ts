// Auto-replies and out-of-office notices (RFC 3834 and the common vendor headers and subjects): not
// bounces, so nothing about the recipient changes.
import type { Fields } from "./fields";
import { field } from "./fields";

const AUTO_SUBJECT =
	/^(auto(matic)?[ -]?(reply|response|antwort|respuesta)|auto:|autoreply|out of (the )?office|ooo\b|away from (the )?office|on vacation|vacation (reply|notice|message)|abwesenheit|réponse automatique|respuesta automática|risposta automatica|automatisch antwoord|(i am|i'm) (currently )?(out|away)|thank you for (your (e-?mail|message)|contacting))/i;

export function isAutoReply(headers: Fields, subject: string): boolean {
	const submitted = field(headers, "auto-submitted")?.toLowerCase() ?? "";
	if (submitted.startsWith("auto-replied")) return true;
	if (headers.has("x-autoreply") || headers.has("x-autorespond") || headers.has("x-autoresponder")) return true;
	const precedence = (field(headers, "precedence") ?? field(headers, "x-precedence") ?? "").toLowerCase();
	if (precedence === "auto_reply") return true;
	if ((field(headers, "x-auto-response-suppress") ?? "") !== "" && AUTO_SUBJECT.test(subject)) return true;
	return AUTO_SUBJECT.test(subject.replace(/^(re|aw|fw|fwd):\s*/i, ""));
}
