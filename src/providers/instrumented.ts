/**
 * Provider call durations (xtc_provider_request_duration_seconds{provider,operation}), measured at
 * the one interface every dialect implements, so no dialect needs to know about metrics. OIDC
 * discovery is timed inside the OIDC provider (it is no method of the interface).
 */
import type { Metrics } from '../shared/metrics.js';
import type { Provider } from './types.js';

export function instrumentProvider(p: Provider, metrics: Metrics): Provider {
  const exchangeCode = p.exchangeCode.bind(p);
  const refresh = p.refresh.bind(p);
  const revoke = p.revoke?.bind(p);
  p.exchangeCode = (params) => metrics.timeProvider(p.id, 'exchange', () => exchangeCode(params));
  p.refresh = (token, current) => metrics.timeProvider(p.id, 'refresh', () => refresh(token, current));
  if (revoke) p.revoke = (token) => metrics.timeProvider(p.id, 'revoke', () => revoke(token));
  return p;
}
