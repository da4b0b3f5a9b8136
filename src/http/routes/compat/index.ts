// The provider-compatible surfaces: each provider's official SDK works against the relay with only
// its base URL and key changed (docs/migrate/). One route file per provider.
import type { App } from "../../context";
import { registerResendRoutes } from "./resend";

export function registerCompatRoutes(app: App): void {
	registerResendRoutes(app);
}
