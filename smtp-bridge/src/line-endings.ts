// SMTP smuggling guard: DATA must use CRLF line endings only. A bare LF or a bare CR lets a message
// end early for a receiver that accepts `<LF>.<LF>`, `<LF>.<CR><LF>` or `<CR>.<CR>` as end of data
// and so smuggle a second message through the relay; refusing them all closes the class.

export class LineEndingGuard {
	private previousWasCr = false;
	violation: "bare_lf" | "bare_cr" | null = null;

	feed(chunk: Buffer): void {
		if (this.violation) return;
		for (const byte of chunk) {
			if (this.previousWasCr && byte !== 0x0a) {
				this.violation = "bare_cr";
				return;
			}
			if (byte === 0x0a && !this.previousWasCr) {
				this.violation = "bare_lf";
				return;
			}
			this.previousWasCr = byte === 0x0d;
		}
	}

	/** Call after the last chunk: a CR at the very end is bare too. */
	end(): void {
		if (!this.violation && this.previousWasCr) this.violation = "bare_cr";
	}
}
