/**
 * Provider call durations (xtc_provider_request_duration_seconds{provider,operation}) and their
 * spans (provider.code_exchange, provider.token_refresh, provider.revoke: the provider's id only),
 * measured at the one interface every dialect implements, so no dialect needs to know about
 * metrics or traces. OIDC discovery is timed inside the OIDC provider (it is no method of the interface).
 */
import type { Metrics } from '../shared/metrics.js';
import { SpanKind, inSpan } from '../shared/tracing.js';
import type { Provider } from './types.js';

export function instrumentProvider(p: Provider, metrics: Metrics): Provider {
  const exchangeCode = p.exchangeCode.bind(p);
  const refresh = p.refresh.bind(p);
  const revoke = p.revoke?.bind(p);
  const span = { kind: SpanKind.CLIENT, attributes: { 'xtc.provider': p.id } };
  p.exchangeCode = (params) =>
    inSpan('provider.code_exchange', span, () => metrics.timeProvider(p.id, 'exchange', () => exchangeCode(params)));
  p.refresh = (token, current) =>
    inSpan('provider.token_refresh', span, () => metrics.timeProvider(p.id, 'refresh', () => refresh(token, current)));
  if (revoke)
    p.revoke = (token) =>
      inSpan('provider.revoke', span, () => metrics.timeProvider(p.id, 'revoke', () => revoke(token)));
  return p;
}
