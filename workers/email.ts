// The Email Worker entrypoint. Inbound processing (bounces, complaints, inbound routing) arrives with
// the inbound issue; until then mail to the relay's addresses is refused with a clear SMTP reason
// rather than accepted and lost.
export async function handleEmail(message: ForwardableEmailMessage): Promise<void> {
	console.warn("inbound mail refused: inbound processing is not enabled", { from: message.from, to: message.to });
	message.setReject("550 5.7.1 Inbound mail is not enabled for this relay yet");
}
