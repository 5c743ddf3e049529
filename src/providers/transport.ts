/**
 * What the two providers' HTTP clients share, and the one mapping from a transport failure to the
 * error a person sees. The clients themselves hold the rules (one deadline over the whole exchange,
 * a size cap, no redirect followed):
 *  - XT.COM: providers/xt/http.ts over axios in shared/outbound.ts (which webhook deliveries use too);
 *  - OpenID Connect: openid-client's fetch, bounded in providers/oidc/fetch.ts.
 *
 * MAX_RESPONSE_BYTES is their default cap; the XT.COM user API client asks for a larger one
 * (XT_USER_API_MAX_BYTES in providers/xt/userApi.ts). TransportFailure is defined in
 * shared/outbound.ts and re-exported here for the providers.
 *
 * HTTP client errors carry the request (for XT.COM the token URL holds the client secret; for
 * OIDC the headers hold Basic credentials). Each client turns them into a TransportFailure, which
 * holds only plain values, at its edge; nothing else of them is kept.
 */
import { AppError, type Detail } from '../errors.js';
import type { TransportFailure } from '../shared/outbound.js';

/** The most a provider answer may weigh; a larger one is refused, never buffered. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export { TransportFailure, type TransportKind, systemCode } from '../shared/outbound.js';

/** The one mapping from a transport failure to the error a person sees. */
export function transportAppError(f: TransportFailure, provider: string, detail: Detail = {}): AppError {
  if (f.kind === 'timeout')
    return new AppError('provider_timeout', {
      provider,
      detail: { ...detail, reason: 'timeout', elapsedMs: f.elapsedMs },
    });
  if (f.kind === 'too_large')
    return new AppError('provider_bad_response', { provider, detail: { ...detail, reason: 'response too large' } });
  return new AppError('provider_unavailable', {
    provider,
    detail: { ...detail, reason: 'network', transport: f.transport ?? 'unknown', elapsedMs: f.elapsedMs },
  });
}
