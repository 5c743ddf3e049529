/** Builds one Provider per configured dialect. Adding a dialect means adding a line here, not touching routes. */
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Metrics } from '../shared/metrics.js';
import { instrumentProvider } from './instrumented.js';
import { createProviderHttp } from './xt/http.js';
import type { Provider } from './types.js';
import { XtProvider } from './xt/provider.js';

/** OpenID Connect's libraries (openid-client, oauth4webapi, jose) are loaded only when OIDC is configured: a faster cold start without it. */
export async function buildProviders(
  config: Config,
  logger: Logger,
  now: () => number,
  metrics?: Metrics,
): Promise<Map<string, Provider>> {
  // Insertion order is the order of the buttons on the home page: XT.COM first.
  const providers = new Map<string, Provider>();
  if (config.xt) {
    providers.set(
      'xt',
      new XtProvider(
        config.xt,
        createProviderHttp({ provider: 'xt', timeoutMs: config.server.providerTimeoutMs }),
        now,
      ),
    );
  }
  if (config.oidc) {
    const { OidcProvider } = await import('./oidc/provider.js');
    providers.set(
      'oidc',
      new OidcProvider(config.oidc, { timeoutMs: config.server.providerTimeoutMs, logger, now, metrics }),
    );
  }
  if (metrics) for (const p of providers.values()) instrumentProvider(p, metrics);
  return providers;
}

/** Origins the browser may be sent to by a form (CSP form-action follows redirects). */
export function providerOrigins(config: Config): string[] {
  const origins = new Set<string>();
  if (config.xt) origins.add(new URL(config.xt.authorizeUrl.replace('{lang}', 'en')).origin);
  if (config.oidc) {
    // The issuer's origin (CIAM serves authorize from it) and the provider's logout page,
    // where the Disconnect form's redirect lands.
    origins.add(new URL(config.oidc.issuer).origin);
    if (config.oidc.logoutUrl) origins.add(new URL(config.oidc.logoutUrl).origin);
  }
  return [...origins];
}
