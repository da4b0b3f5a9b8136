// Per-isolate counters of the relay's costly operations, read by GET /metrics and bench/enqueue to
// report D1 write transactions and queue sends per accepted message. They count work, not time,
// so they are the same whatever the machine's speed.

export const counters = {
	emails_accepted_total: 0,
	queue_send_calls_total: 0,
	queue_messages_sent_total: 0,
	d1_write_batches_total: 0,
	api_key_lookups_total: 0,
	messages_materialized_total: 0,
	messages_sent_total: 0,
	messages_deferred_total: 0,
	messages_failed_total: 0,
	idempotency_checks_total: 0,
	messages_rejected_total: 0,
	messages_requeued_total: 0,
	send_duplicates_skipped_total: 0,
	events_published_total: 0,
	event_publish_failures_total: 0,
	domain_checks_total: 0,
	breaker_calls_total: 0,
	breaker_fail_open_total: 0,
	gateway_health_checks_total: 0,
	/** WorkspaceLimiter RPCs (consumer reserve/release, HTTP admit), for bench/limits. */
	limiter_calls_total: 0,
	messages_limited_total: 0,
	queue_releases_total: 0,
	/** POST /v1/emails/{id}/cancel and /retry that changed a message; retries the send queue refused. */
	messages_cancelled_total: 0,
	messages_retried_total: 0,
	retry_enqueue_failures_total: 0,
	/** Feedback items recordFeedback wrote (replays excluded); recipients skipped as suppressed at delivery. */
	feedback_recorded_total: 0,
	recipients_suppressed_total: 0,
};

export type Counter = keyof typeof counters;

export function count(name: Counter, by = 1): void {
	counters[name] += by;
}

export function prometheusText(): string {
	return Object.entries(counters)
		.map(([name, value]) => `# TYPE mq_${name} counter\nmq_${name} ${value}`)
		.join("\n")
		.concat("\n");
}
