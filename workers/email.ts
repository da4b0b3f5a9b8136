// The Email Worker entrypoint. Inbound processing (bounces, complaints, inbound routing) arrives with
// the inbound issue; until then mail to the relay's addresses is refused with a clear SMTP reason
// rather than accepted and lost. The log names no address (rule 7: ids, never addresses).
export async function handleEmail(message: ForwardableEmailMessage): Promise<void> {
	console.warn("inbound mail refused: inbound processing is not enabled", { size: message.rawSize });
	message.setReject("550 5.7.1 Inbound mail is not enabled for this relay yet");
}
