/** Builds one Provider per configured dialect. Adding a dialect means adding a line here, not touching routes. */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createProviderHttp } from './http.js';
import type { Provider } from './types.js';
import { XtProvider } from './xt.js';

export function buildProviders(config: Config, _logger: Logger, now: () => number): Map<string, Provider> {
  const providers = new Map<string, Provider>();
  if (config.xt) {
    providers.set('xt', new XtProvider(config.xt, createProviderHttp({ provider: 'xt', timeoutMs: config.providerTimeoutMs }), now));
  }
  return providers;
}

/** Origins the browser may be sent to by a form (CSP form-action follows redirects). */
export function providerOrigins(config: Config): string[] {
  const origins = new Set<string>();
  if (config.xt) origins.add(new URL(config.xt.authorizeUrl.replace('{lang}', 'en')).origin);
  return [...origins];
}
