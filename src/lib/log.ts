// What an error may say in a log line: its class and the start of its message. Storage and queue
// errors name statements and limits, not data; bodies, addresses and secrets never reach a log.

export function errorSummary(error: unknown): string {
	return error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : typeof error;
}
