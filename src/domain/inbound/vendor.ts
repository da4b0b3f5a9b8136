// Bounces that carry no message/delivery-status part (qmail, Exim, old Sendmail/Postfix, Yahoo, Gmail,
// Exchange 2003, Mimecast…): is it a bounce, and which recipients failed with which words.
import { addressesOf } from "./arf";
import type { Fields } from "./fields";
import { field } from "./fields";
import type { ClassifiedRecipient } from "./model";
import { classifiedRecipient } from "./recipient";
import { actionFor, statusIn } from "./status";

const BOUNCE_FROM =
	/^(mailer[-_]?daemon|postmaster|mail[-_]?delivery[-_]?(subsystem|system)?|mdaemon|bounces?|nobody)@/i;
const BOUNCE_SUBJECT =
	/(undeliver(able|ed)|delivery (status notification|failure|failed|has failed|problem|report|notification)|(mail|message) (delivery )?(failed|failure|not delivered|returned|could not be delivered)|returned mail|failure notice|non[- ]?delivery|could not (be )?deliver|delivery (delayed|warning)|warning: (message|could not)|not (been )?delivered|nicht zustellbar|rejected|bounce)/i;
const DELAY_SUBJECT =
	/(delay|warning|still (being )?(retried|undelivered|trying)|will (retry|keep trying)|not yet been delivered)/i;
const DELAY_TEXT =
	/(will (retry|keep trying|continue (to )?try)|not yet been delivered|still trying|(has been |was )?delayed|temporar(y|ily) (failure|problem|error|unable)|this is not a permanent error|warning message only|no action is required|retry (for|until))/i;
/** Where the quoted original message starts: nothing after it is the MTA's own words. */
const QUOTE_START =
	/^(-+ ?(below this line is a copy|this is a copy of the message|original message|original message headers|message headers follow|the header of the original message|headers of the original)|original message headers:|------ This is a copy|--- Below this line|content-type: message\/rfc822)/im;
const ADDRESS = /<?([^\s<>()",;:'[\]]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+)>?/i;

export function looksLikeBounce(headers: Fields, from: string | null, subject: string): boolean {
	if (headers.has("x-failed-recipients")) return true;
	const fromIsDaemon = from !== null && BOUNCE_FROM.test(from);
	return BOUNCE_SUBJECT.test(subject) && (fromIsDaemon || !/^(re|fw|fwd|aw):/i.test(subject));
}

/** The notice's own text: the body up to where the quoted original begins. */
export function noticeText(text: string): string {
	const start = text.search(QUOTE_START);
	return start === -1 ? text : text.slice(0, start);
}

export function parseVendorBounce(
	headers: Fields,
	subject: string,
	text: string,
	ownAddresses: ReadonlySet<string>,
): ClassifiedRecipient[] {
	const notice = noticeText(text);
	const delayed = DELAY_SUBJECT.test(subject) || DELAY_TEXT.test(notice);
	const fallbackAction = delayed ? "delayed" : "failed";
	const named = addressesOf(field(headers, "x-failed-recipients"));
	const blocks = addressBlocks(notice, ownAddresses);
	const recipients = named.length > 0 ? named : [...new Set(blocks.map((block) => block.address))];
	const whole = notice.replace(/\s+/g, " ").trim();
	return recipients.map((recipient) => {
		const own = blocks.find((block) => block.address === recipient)?.text ?? "";
		const diagnostic = own.length > 0 && statusOrWords(own) ? own : diagnosticOf(notice, recipient) || whole;
		const status = statusIn(diagnostic) ?? statusIn(whole);
		return classifiedRecipient({
			recipient,
			action: status ? actionFor(status, fallbackAction) : fallbackAction,
			status: status ?? (delayed ? null : null),
			diagnostic,
		});
	});
}

function statusOrWords(text: string): boolean {
	return text.replace(/\s+/g, " ").trim().length >= 8;
}

type AddressBlock = { address: string; text: string };

/**
 * Lines that are (nearly) only an address, each with the lines that follow it up to the next blank
 * line or address: qmail's `<a@b>:`, Exim's indented address, Gmail's, Sendmail's, Yahoo's.
 */
function addressBlocks(notice: string, own: ReadonlySet<string>): AddressBlock[] {
	const lines = notice.replace(/\r\n?/g, "\n").split("\n");
	const blocks: AddressBlock[] = [];
	let current: AddressBlock | null = null;
	for (const line of lines) {
		const match =
			/^\s*(?:(?:rcpt|recipient|to|address)\s*:\s*)?<?([^\s<>()",;:'[\]]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+)>?\s*(?::|\.\.\.|\s+on\s.*|\s+\(.*\))?\s*(.*)$/i.exec(
				line,
			);
		const address = match?.[1]?.toLowerCase();
		if (match && address && !own.has(address) && (match[2] ?? "").length < 200 && isAddressLine(line)) {
			current = { address, text: match[2] ?? "" };
			blocks.push(current);
			continue;
		}
		if (line.trim() === "") {
			if (current && current.text.trim() !== "") current = null;
			continue;
		}
		if (current) current.text = `${current.text} ${line.trim()}`;
	}
	return blocks;
}

/** An address at the start of the line, not a sentence that mentions one. */
function isAddressLine(line: string): boolean {
	const trimmed = line.trim();
	const match = ADDRESS.exec(trimmed);
	return match !== null && match.index <= 10;
}

/** The sentence(s) around the recipient's address, when it has no block of its own (Gmail, Exchange). */
function diagnosticOf(notice: string, recipient: string): string {
	const flat = notice.replace(/\s+/g, " ");
	const at = flat.toLowerCase().indexOf(recipient);
	if (at === -1) return "";
	const after = flat.slice(at + recipient.length, at + recipient.length + 600).trim();
	return statusIn(after) || after.length > 0 ? after : "";
}
