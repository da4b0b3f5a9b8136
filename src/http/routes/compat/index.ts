// The provider-compatible surfaces: each provider's official SDK works against the relay with only
// its base URL and key changed (docs/migrate/). One route file per provider.
import type { App } from "../../context";
import { registerMailgunRoutes } from "./mailgun";
import { registerMandrillRoutes } from "./mandrill";
import { registerPostmarkRoutes } from "./postmark";
import { registerResendRoutes } from "./resend";
import { registerSendgridRoutes } from "./sendgrid";

export function registerCompatRoutes(app: App): void {
	registerResendRoutes(app);
	registerPostmarkRoutes(app);
	registerSendgridRoutes(app);
	registerMailgunRoutes(app);
	registerMandrillRoutes(app);
}
