// The baseline: a Worker that does nothing but answer, measured beside the relay in the same run.
export default {
	fetch() {
		return new Response('{"id":"hello","status":"queued"}', {
			status: 202,
			headers: { "content-type": "application/json" },
		});
	},
};
