// In-process counters for /metrics (Prometheus text format 0.0.4).

const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

export class Metrics {
	sessionsActive = 0;
	sessionsTotal = 0;
	connectionsRefused = 0;
	authFailures = 0;
	bytesReceived = 0;
	/** MX mode (mx.ts): its own sessions, messages by reply code and RCPT TO answers. */
	mxSessionsActive = 0;
	mxSessionsTotal = 0;
	private readonly mxMessages = new Map<number, number>();
	private readonly mxRecipients = new Map<string, number>();
	private readonly messages = new Map<number, number>();
	private readonly latencyBuckets = LATENCY_BUCKETS_MS.map(() => 0);
	private latencyCount = 0;
	private latencySum = 0;

	message(code: number): void {
		this.messages.set(code, (this.messages.get(code) ?? 0) + 1);
	}

	messagesWith(code: number): number {
		return this.messages.get(code) ?? 0;
	}

	mxMessage(code: number): void {
		this.mxMessages.set(code, (this.mxMessages.get(code) ?? 0) + 1);
	}

	/** `accepted`, `refused` or `failed` (the Worker could not answer). */
	mxRecipient(result: "accepted" | "refused" | "failed"): void {
		this.mxRecipients.set(result, (this.mxRecipients.get(result) ?? 0) + 1);
	}

	workerLatency(ms: number): void {
		this.latencyCount++;
		this.latencySum += ms;
		LATENCY_BUCKETS_MS.forEach((le, i) => {
			if (ms <= le) this.latencyBuckets[i] = (this.latencyBuckets[i] ?? 0) + 1;
		});
	}

	render(): string {
		const lines = [
			"# TYPE smtp_sessions_active gauge",
			`smtp_sessions_active ${this.sessionsActive}`,
			"# TYPE smtp_sessions_total counter",
			`smtp_sessions_total ${this.sessionsTotal}`,
			"# TYPE smtp_connections_refused_total counter",
			`smtp_connections_refused_total ${this.connectionsRefused}`,
			"# TYPE smtp_auth_failures_total counter",
			`smtp_auth_failures_total ${this.authFailures}`,
			"# TYPE smtp_received_bytes_total counter",
			`smtp_received_bytes_total ${this.bytesReceived}`,
			"# TYPE smtp_messages_total counter",
			...[...this.messages].map(([code, n]) => `smtp_messages_total{code="${code}"} ${n}`),
			"# TYPE smtp_mx_sessions_active gauge",
			`smtp_mx_sessions_active ${this.mxSessionsActive}`,
			"# TYPE smtp_mx_sessions_total counter",
			`smtp_mx_sessions_total ${this.mxSessionsTotal}`,
			"# TYPE smtp_mx_messages_total counter",
			...[...this.mxMessages].map(([code, n]) => `smtp_mx_messages_total{code="${code}"} ${n}`),
			"# TYPE smtp_mx_recipients_total counter",
			...[...this.mxRecipients].map(([result, n]) => `smtp_mx_recipients_total{result="${result}"} ${n}`),
			"# TYPE smtp_worker_latency_ms histogram",
			...LATENCY_BUCKETS_MS.map((le, i) => `smtp_worker_latency_ms_bucket{le="${le}"} ${this.latencyBuckets[i]}`),
			`smtp_worker_latency_ms_bucket{le="+Inf"} ${this.latencyCount}`,
			`smtp_worker_latency_ms_sum ${Math.round(this.latencySum)}`,
			`smtp_worker_latency_ms_count ${this.latencyCount}`,
		];
		return `${lines.join("\n")}\n`;
	}
}
