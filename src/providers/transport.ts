/**
 * What every outbound provider call shares (axios for XT.COM, shared/outbound.ts; Node's fetch
 * under boundedFetch for OpenID Connect): the same size limit, no redirects followed, a hard
 * timeout, and one mapping from a transport failure to our error codes.
 *
 * HTTP client errors carry the request (for XT.COM the token URL holds the client secret; for
 * OIDC the headers hold Basic credentials). They are turned into a TransportFailure, which holds
 * only plain values, at the client's edge; nothing else of them is kept.
 */
import { AppError, type Detail } from '../errors.js';
import type { TransportFailure } from '../shared/outbound.js';

/** The most a provider answer may weigh; a larger one is refused, never buffered. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export { TransportFailure, type TransportKind, systemCode } from '../shared/outbound.js';

/** The one mapping from a transport failure to the error a person sees. */
export function transportAppError(f: TransportFailure, provider: string, detail: Detail = {}): AppError {
  if (f.kind === 'timeout') return new AppError('provider_timeout', { provider, detail: { ...detail, reason: 'timeout', elapsedMs: f.elapsedMs } });
  if (f.kind === 'too_large') return new AppError('provider_bad_response', { provider, detail: { ...detail, reason: 'response too large' } });
  return new AppError('provider_unavailable', {
    provider,
    detail: { ...detail, reason: 'network', transport: f.transport ?? 'unknown', elapsedMs: f.elapsedMs },
  });
}
