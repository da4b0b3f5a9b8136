// The words remote MTAs use for each bounce reason, tried in order (the first match wins): the more
// specific causes first, so "mailbox full" beats "mailbox unavailable" and "spamhaus" beats "spam".
import type { BounceReason } from "../feedback/model";

export const REASON_PATTERNS: readonly (readonly [BounceReason, RegExp])[] = [
	[
		"has_moved",
		/\b(has moved|address (has )?changed|mailbox (owner )?has changed|no longer (at|with) this address)\b/i,
	],
	[
		"mailbox_full",
		/(mailbox (is )?full|mailbox size limit|over (the )?quota|quota (exceeded|exceed|full)|exceeded (the )?(storage|quota)|exceeds? (his|her|their|the) (storage|quota)|insufficient (system )?storage|out of storage|disk quota|mailfolder is full|full mailbox|storage (space )?(is )?full|too much mail|user is over|mail ?box (is )?over)/i,
	],
	[
		"expired",
		/(delivery time expired|retry time(out)? (not reached|exceeded)|(queue|queued) (for )?too long|too long in (the )?queue|message (has )?expired|expired after|message timeout|giving up on|could not be delivered (within|for) \d+|has not been delivered for \d+|maximum time in queue|deadline|exceeded the maximum time|lifetime exceeded)/i,
	],
	[
		"host_unknown",
		/(host (or domain name )?(not found|unknown)|unknown host|domain (name )?(not found|does not exist|doesn't exist)|unknown domain|no such domain|unrouteable (address|domain|mail domain)|no mx (record|host)|mx (record )?(lookup|not found)|name service error|couldn'?t find any host|all relevant mx records point to non-existent hosts|nxdomain|domain (is )?not (valid|registered)|dns (lookup )?(error|failure)|non-existent (domain|host)|no valid (mx|host)|unable to resolve)/i,
	],
	[
		"user_unknown",
		/(user ?unknown|unknown (user|recipient|local[- ]part|address)|no such (user|mailbox|recipient|address|account)|(user|mailbox|recipient|address|account|addressee)( name)? (does not exist|doesn'?t exist|not found|not exist|unknown|is unknown|not (a )?valid|invalid|is invalid)|recipnotfound|not our customer|invalid (recipient|mailbox|address|user)|no mailbox here|mailbox unavailable|mailbox (is )?(disabled|inactive|not available|unavailable)|account (is |has been )?(disabled|inactive|deactivated|closed|terminated|removed|deleted)|address (is )?(no longer|not) (valid|in use|available)|doesn'?t have an? .{1,40} account|is not a valid (mailbox|recipient|address)|no longer (exists|valid|active|in use)|undeliverable address|bad (destination mailbox )?address|not listed in (the )?(address book|domino directory)|addressee unknown|unknown or illegal alias|recipient rejected|no user (by that name|with that|here)|nosuchuser|not a known user|invalid address|user not listed)/i,
	],
	[
		"auth_failure",
		/(\bspf\b|\bdkim\b|\bdmarc\b|sender policy framework|unauthenticated|not authenticated|authentication (failed|failure|required|results)|failed (the )?authentication|ptr record|reverse dns|reverse (lookup|hostname)|rdns|sender (address )?verif)/i,
	],
	[
		"blocked",
		/(blocked|block ?list(ed)?|black ?list(ed)?|spamhaus|spamcop|barracuda|\brbl\b|dnsbl|\bsorbs\b|listed (at|on|in|by)|banned|bad reputation|poor reputation|low reputation|ip reputation|reputation of|client host rejected|access denied|\brtr:|\bbl:|refused to talk to me|not allowed to send|denied by policy|sending ip)/i,
	],
	[
		"spam",
		/(\bspam\b|\bjunk\b|unsolicited|bulk mail|content (was )?rejected|message (content )?(looks|appears) (to be )?(suspicious|like)|suspicious|spam ?score|spamassassin|\bphish)/i,
	],
	[
		"too_many_connections",
		/(too many (connections|concurrent|messages|sessions|mails|recipients)|rate ?limit|rate that prevents|(connection|sending|message) rate|throttl|exceeded .{0,20}(limit|rate)|try (again )?later|temporarily (deferred|rate))/i,
	],
	[
		"network",
		/(connection (timed out|refused|reset|dropped|lost)|timed out|timeout|network (is )?unreachable|no route to host|lost connection|could not connect|couldn'?t connect|unable to connect|connect to .{1,80} failed|tls (handshake|negotiation)|starttls)/i,
	],
	["filtered", /(\bfilter(ed)?\b|\bvirus\b|malware|attachment|prohibited (content|file)|content policy)/i],
	[
		"rejected",
		/(relay(ing)? (denied|not permitted|access denied|prohibited)|not permitted to relay|unable to relay|sender (address )?rejected|rejected sender|sender denied|we do not relay)/i,
	],
	["policy", /(\bpolicy\b|policies|not (accepted|authorized|permitted)|prohibited|administrative)/i],
	[
		"system",
		/(system (error|failure|not accepting)|internal (server )?error|local error|configuration error|misconfigur|routing loop|mail loop|loop detected|too many hops|hop count|server (is )?(busy|unavailable))/i,
	],
];
