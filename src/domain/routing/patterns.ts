// Address patterns of routing (seed 000's `can_route` / `exclude_patterns`, routing rules'
// recipient and sender domains): `*` matches any run of characters, everything else literally,
// case-insensitively. `*@gmail.com` matches every Gmail address; `gmail.com` alone matches the domain.

const compiled = new Map<string, RegExp>();

function regexOf(pattern: string): RegExp {
	let re = compiled.get(pattern);
	if (!re) {
		const body = pattern
			.trim()
			.toLowerCase()
			.split("*")
			.map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
			.join(".*");
		re = new RegExp(`^${body}$`);
		if (compiled.size > 1000) compiled.clear();
		compiled.set(pattern, re);
	}
	return re;
}

/** True when `value` (an address or a domain) matches `pattern`. A bare domain pattern matches addresses at it. */
export function matchesPattern(pattern: string, value: string): boolean {
	const v = value.toLowerCase();
	if (!pattern.includes("@") && v.includes("@")) return regexOf(pattern).test(v.slice(v.lastIndexOf("@") + 1));
	return regexOf(pattern).test(v);
}

export function matchesAny(patterns: readonly string[], value: string): boolean {
	return patterns.some((p) => matchesPattern(p, value));
}

/** A pattern a user may store: 1-320 characters of address characters and `*`. */
export const PATTERN = /^[A-Za-z0-9*._%+@-]{1,320}$/;
