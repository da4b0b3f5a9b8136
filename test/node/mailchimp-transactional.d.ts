// The package ships no types; this is the part of its client the compat test uses.
declare module "@mailchimp/mailchimp_transactional" {
	type Recipient = { email: string; name?: string; type?: "to" | "cc" | "bcc" };
	type SendResult = { email: string; status: string; _id: string | null; reject_reason: string | null };
	type AxiosLikeError = { isAxiosError: true; response?: { status: number; data: unknown } };
	type Client = {
		basePath: string;
		messages: {
			send(body: { message: Record<string, unknown> & { to: Recipient[] } }): Promise<SendResult[] | AxiosLikeError>;
		};
	};
	export default function mailchimpTransactional(apiKey: string): Client;
}
