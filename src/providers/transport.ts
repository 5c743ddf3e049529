/**
 * What every outbound provider call shares (Node's fetch under boundedFetch, for XT.COM and for
 * OpenID Connect): the same size limit, no redirects followed, a hard timeout, and
 * one mapping from a transport failure to our error codes.
 *
 * HTTP client errors carry the request (for XT.COM the token URL holds the client secret; for
 * OIDC the headers hold Basic credentials). They are turned into a TransportFailure, which holds
 * only plain values, at the client's edge; nothing else of them is kept.
 */
import { AppError, type Detail } from '../errors.js';

/** The most a provider answer may weigh; a larger one is refused, never buffered. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export type TransportKind = 'timeout' | 'network' | 'too_large';

/** A transport problem, with nothing of the request or the response attached. */
export class TransportFailure extends Error {
  constructor(
    readonly kind: TransportKind,
    readonly elapsedMs: number,
    /** A system error code such as ECONNREFUSED, when there is one. */
    readonly transport?: string,
  ) {
    super(`provider ${kind}`);
    this.name = 'TransportFailure';
  }
}

/** The one mapping from a transport failure to the error a person sees. */
export function transportAppError(f: TransportFailure, provider: string, detail: Detail = {}): AppError {
  if (f.kind === 'timeout') return new AppError('provider_timeout', { provider, detail: { ...detail, reason: 'timeout', elapsedMs: f.elapsedMs } });
  if (f.kind === 'too_large') return new AppError('provider_bad_response', { provider, detail: { ...detail, reason: 'response too large' } });
  return new AppError('provider_unavailable', {
    provider,
    detail: { ...detail, reason: 'network', transport: f.transport ?? 'unknown', elapsedMs: f.elapsedMs },
  });
}

/** ECONNREFUSED and friends, from an error or its `cause` chain. Only a short code survives. */
export function systemCode(err: unknown): string {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
  }
  return 'unknown';
}
