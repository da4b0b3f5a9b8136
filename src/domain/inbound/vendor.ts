// Bounces that carry no message/delivery-status part (qmail, Exim, old Sendmail/Postfix, Yahoo, Gmail,
// Exchange 2003, Mimecast…): is it a bounce, and which recipients failed with which words.
import { addressesOf } from "./arf";
import type { Fields } from "./fields";
import { field } from "./fields";
import type { ClassifiedRecipient } from "./model";
import { classifiedRecipient } from "./recipient";
import { statusIn } from "./status";

const BOUNCE_FROM =
	/^(mailer[-_]?daemon|postmaster|mail[-_]?delivery[-_]?(subsystem|system)?|mdaemon|bounces?|nobody)@/i;
const BOUNCE_SUBJECT =
	/(undeliver(able|ed)|delivery (status notification|failure|failed|has failed|problem|report|notification)|(mail|message) (delivery )?(failed|failure|not delivered|returned|could not be delivered)|returned mail|failure notice|non[- ]?delivery|could not (be )?deliver|delivery (delayed|warning)|warning: (message|could not)|not (been )?delivered|nicht zustellbar|rejected|bounce)/i;
/** What a bounce says whatever its subject (Exchange 2003 keeps the original's). */
const BOUNCE_TEXT =
	/(did not reach the following recipient|could not be delivered to|delivery (to the following recipients? )?(has )?failed|following address(es)? (had permanent fatal errors|failed)|wasn't able to deliver|unable to deliver|undeliverable)/i;
const DELAY_SUBJECT =
	/(delay|warning|still (being )?(retried|undelivered|trying)|will (retry|keep trying)|not yet been delivered)/i;
const DELAY_TEXT =
	/(will (retry|keep trying|continue (to )?try)|not yet been delivered|still trying|(has been |was )?delayed|temporar(y|ily) (failure|problem|error|unable)|this is not a permanent error|warning message only|no action is required|retry (for|until))/i;
/** Where the quoted original message starts: nothing after it is the MTA's own words. */
const QUOTE_START =
	/^(-+ ?(below this line is a copy|this is a copy of the message|original message|original message headers|message headers follow|the header of the original message|headers of the original)|original message headers:|------ This is a copy|--- Below this line|content-type: message\/rfc822)/im;
const ADDRESS_LINE =
	/^\s*(?:--\s*)?(?:(?:rcpt|recipient|address)\s*:\s*)?<?([^\s<>()",;:'[\]]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+)>?(?:<mailto:[^>]*>)?\s*(?::|\.\.\.|on\s.*|\(.*\))?\s*(.*)$/i;
/** Sections in which a vendor puts the remote reply (Gmail, Mimecast, Exchange 2003). */
const DETAILS =
	/(technical details of (?:permanent|temporary) failure:|the error that the other server returned was:|additional information follows\s*:|remote server returned|diagnostic information for administrators:)([\s\S]*)/i;
const ADDRESS = /<?([^\s<>()",;:'[\]]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+)>?/i;

export function looksLikeBounce(headers: Fields, from: string | null, subject: string, text: string): boolean {
	if (headers.has("x-failed-recipients")) return true;
	const fromIsDaemon = from !== null && BOUNCE_FROM.test(from);
	if (fromIsDaemon && BOUNCE_TEXT.test(noticeText(text))) return true;
	return BOUNCE_SUBJECT.test(subject) && (fromIsDaemon || !/^(re|fw|fwd|aw):/i.test(subject));
}

/** A bounce notice is a few kilobytes; the rest of a huge body is not read (bounded work per message). */
const NOTICE_MAX_CHARS = 256 * 1024;
/** At most this many recipients are reported per message (a send has at most 1,000). */
export const MAX_RECIPIENTS = 1000;
/** Words kept per address block: more than a diagnostic keeps. */
const BLOCK_MAX_CHARS = 2000;

/** The notice's own text: the body up to where the quoted original begins. */
export function noticeText(text: string): string {
	const head = text.slice(0, NOTICE_MAX_CHARS);
	const start = head.search(QUOTE_START);
	return start === -1 ? head : head.slice(0, start);
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
	const blocks = recipientBlocks(notice, ownAddresses);
	const recipients = (named.length > 0 ? [...new Set(named)] : blocks.map((block) => block.address)).slice(
		0,
		MAX_RECIPIENTS,
	);
	const byAddress = new Map(blocks.map((block) => [block.address, block.text]));
	const flat = notice.replace(/\s+/g, " ");
	const flatLower = flat.toLowerCase();
	const whole = notice.replace(/\s+/g, " ").trim();
	const details = recipients.length === 1 ? (DETAILS.exec(notice)?.[0] ?? null) : null;
	return recipients.map((recipient) => {
		const own = byAddress.get(recipient) ?? "";
		const words = own.trim().length >= 8 ? own : diagnosticOf(flat, flatLower, recipient) || whole;
		// A block without a status code defers to the vendor's details section when there is one.
		const diagnostic = statusIn(words) === null && details ? `${words} ${details}` : words;
		return classifiedRecipient({
			recipient,
			action: fallbackAction,
			status: statusIn(diagnostic),
			diagnostic,
		});
	});
}

type AddressBlock = { address: string; text: string };

/**
 * The address blocks of the notice. The bounce's own From/To are skipped unless nothing else is
 * named (someone who mailed themselves); with no block at all, the addresses the notice mentions in
 * a sentence ("User's mailbox is full: <a@b>"), each with its line.
 */
function recipientBlocks(notice: string, own: ReadonlySet<string>): AddressBlock[] {
	const blocks = addressBlocks(notice);
	const others = blocks.filter((block) => !own.has(block.address));
	if (others.length > 0) return others;
	if (blocks.length > 0) return blocks;
	const mentioned = new Map<string, AddressBlock>();
	for (const line of notice.split(/\r?\n/)) {
		const address = ADDRESS.exec(line)?.[1]?.toLowerCase();
		if (address && !own.has(address) && !mentioned.has(address)) mentioned.set(address, { address, text: line.trim() });
	}
	return [...mentioned.values()];
}

/**
 * Lines that are (nearly) only an address, each with the lines that follow it up to the next blank
 * line or address: qmail's `<a@b>:`, Exim's indented address, Gmail's, Sendmail's, Yahoo's.
 */
function addressBlocks(notice: string): AddressBlock[] {
	const lines = notice.replace(/\r\n?/g, "\n").split("\n");
	const blocks = new Map<string, AddressBlock>();
	let current = null as AddressBlock | null;
	const append = (block: AddressBlock, words: string) => {
		if (block.text.length < BLOCK_MAX_CHARS) block.text = `${block.text} ${words}`;
	};
	for (const line of lines) {
		const match = ADDRESS_LINE.exec(line);
		const address = match?.[1]?.toLowerCase();
		if (match && address && isAddressLine(line)) {
			const rest = match[2] ?? "";
			if (current?.address === address) {
				// Exim and Sendmail repeat the address inside its own diagnostic.
				append(current, line.trim());
				continue;
			}
			current = blocks.get(address) ?? null;
			if (current) append(current, rest);
			else {
				current = { address, text: rest };
				blocks.set(address, current);
			}
			continue;
		}
		if (line.trim() === "") {
			if (current && current.text.trim() !== "") current = null;
			continue;
		}
		if (current) append(current, line.trim());
	}
	return [...blocks.values()];
}

/** An address at the start of the line, not a sentence that mentions one. */
function isAddressLine(line: string): boolean {
	const trimmed = line.trim();
	const match = ADDRESS.exec(trimmed);
	return match !== null && match.index <= 10;
}

/** The sentence(s) around the recipient's address, when it has no block of its own (Gmail, Exchange). */
function diagnosticOf(flat: string, flatLower: string, recipient: string): string {
	const at = flatLower.indexOf(recipient);
	if (at === -1) return "";
	const after = flat.slice(at + recipient.length, at + recipient.length + 600).trim();
	return statusIn(after) || after.length > 0 ? after : "";
}
