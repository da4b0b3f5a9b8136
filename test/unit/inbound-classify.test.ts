/// <reference types="vite/client" />
// The inbound classifier against the committed corpus of real-world bounces, deferrals, auto-replies
// and feedback-loop reports (test/fixtures/bounces/README.md): every message must classify exactly as
// expected.json says a careful reader would, and the accuracy is printed.
import { describe, expect, it } from "vitest";
import type { BounceReason } from "../../src/domain/feedback/model";
import { classify } from "../../src/domain/inbound/classify";
import type { InboundKind } from "../../src/domain/inbound/model";
import expected from "../fixtures/bounces/expected.json";

type Expected = {
	source: string;
	kind: InboundKind;
	recipients: { recipient: string; action: string; status: string | null; reason: BounceReason; hard: boolean }[];
};

const messages = import.meta.glob<string>("../fixtures/bounces/*.eml", {
	query: "?raw",
	import: "default",
	eager: true,
});
const corpus = Object.entries(messages).map(([path, raw]) => ({ file: path.split("/").pop() ?? path, raw }));
const expectations = expected as Record<string, Expected>;

async function verdict(raw: string): Promise<Omit<Expected, "source">> {
	const got = await classify(raw);
	return {
		kind: got.kind,
		recipients: got.recipients.map(({ recipient, action, status, reason, hard }) => ({
			recipient,
			action,
			status,
			reason,
			hard,
		})),
	};
}

describe("inbound classifier corpus", () => {
	it("has an expectation for every message and a message for every expectation", () => {
		expect(corpus.length).toBeGreaterThanOrEqual(40);
		expect(corpus.map((m) => m.file).sort()).toEqual(Object.keys(expectations).sort());
	});

	it("classifies every message as expected (100% on the committed corpus)", async () => {
		const misses: { file: string; want: unknown; got: unknown }[] = [];
		const bySource = new Map<string, { total: number; correct: number }>();
		for (const { file, raw } of corpus) {
			const want = expectations[file];
			if (!want) continue;
			const got = await verdict(raw);
			const { source, ...rest } = want;
			const ok = JSON.stringify(got) === JSON.stringify(rest);
			const tally = bySource.get(source) ?? { total: 0, correct: 0 };
			tally.total++;
			if (ok) tally.correct++;
			else misses.push({ file, want: rest, got });
			bySource.set(source, tally);
		}
		const correct = corpus.length - misses.length;
		const perSource = [...bySource].map(([source, t]) => `${source} ${t.correct}/${t.total}`).join(", ");
		console.log(`inbound classifier accuracy: ${correct}/${corpus.length} (${perSource})`);
		expect(misses).toEqual([]);
	});

	it("reads the original Message-ID from the returned message", async () => {
		const raw = corpus.find((m) => m.file === "lhost-exchange2007-02.eml")?.raw ?? "";
		expect((await classify(raw)).originalMessageId).toMatch(/^<.+@.+>$/);
	});
});
