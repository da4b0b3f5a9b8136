// Mapped-field providers (SendGrid, Postmark, Resend) build the To/Cc headers from the recipients they
// are given, so an envelope must be split back into header roles: an envelope recipient that is a
// header To stays To, a header Cc stays Cc, anyone else is Bcc. An attempt that reaches no header To
// (a retry of only Cc/Bcc recipients) is sent as one message per recipient, each the sole To of its
// copy, because these APIs refuse a message without To and a shared To would expose Bcc recipients.
import { formatMailbox } from "../lib/address";
import type { Envelope, EnvelopeRecipient, Mailbox, RenderedMessage } from "./types";

export type RecipientGroup = {
	to: Mailbox[];
	cc: Mailbox[];
	bcc: Mailbox[];
	/** The envelope entries this group reaches, for the per-recipient results and idempotency keys. */
	recipients: EnvelopeRecipient[];
};

const key = (email: string) => email.toLowerCase();

export function groupsFor(message: RenderedMessage, envelope: Envelope): RecipientGroup[] {
	const toByEmail = new Map(message.to.map((m) => [key(m.email), m]));
	const ccByEmail = new Map(message.cc.map((m) => [key(m.email), m]));
	const group: RecipientGroup = { to: [], cc: [], bcc: [], recipients: envelope.recipients };
	for (const r of envelope.recipients) {
		const to = toByEmail.get(key(r.email));
		const cc = ccByEmail.get(key(r.email));
		if (to) group.to.push(to);
		else if (cc) group.cc.push(cc);
		else group.bcc.push({ email: r.email });
	}
	if (group.to.length > 0) return [group];
	return envelope.recipients.map((r) => ({
		to: [ccByEmail.get(key(r.email)) ?? { email: r.email }],
		cc: [],
		bcc: [],
		recipients: [r],
	}));
}

export const mailboxText = (m: Mailbox) => formatMailbox(m);
