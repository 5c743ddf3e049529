/**
 * The HTTP client for XT.COM: Node's fetch under boundedFetch (fetch.ts), so it is held to the same
 * rules as every provider call (a hard timeout over headers and body, the size cap, no redirects).
 * Failures become a TransportFailure, and then a plain AppError, here: Node's fetch errors carry
 * the request URL (for the token call that includes the client secret) in their `cause`, and
 * nothing of them goes further.
 */
import { boundedFetch } from './fetch.js';
import { TransportFailure, systemCode, transportAppError } from './transport.js';

export interface RawResponse {
  status: number;
  contentType: string;
  body: string;
  /** The Retry-After header, as sent (XT.COM's 429). */
  retryAfter?: string;
}

export interface ProviderHttp {
  request(cfg: { method: 'GET' | 'POST' | 'DELETE'; url: string; headers?: Record<string, string>; data?: string }): Promise<RawResponse>;
}

export function createProviderHttp(opts: { provider: string; timeoutMs: number; maxBytes?: number }): ProviderHttp {
  const send = boundedFetch({ timeoutMs: opts.timeoutMs, maxBytes: opts.maxBytes });
  return {
    async request(cfg) {
      const started = Date.now();
      try {
        // The body goes out byte for byte (XT.COM signs the exact bytes); no proxy, no redirects.
        const res = await send(cfg.url, { method: cfg.method, headers: { Accept: 'application/json', ...cfg.headers }, body: cfg.data, redirect: 'manual' });
        const retryAfter = res.headers.get('retry-after');
        return {
          status: res.status,
          contentType: res.headers.get('content-type') ?? '',
          body: await res.text(),
          retryAfter: retryAfter === null ? undefined : retryAfter.slice(0, 64),
        };
      } catch (err) {
        const failure = err instanceof TransportFailure ? err : new TransportFailure('network', Date.now() - started, systemCode(err));
        throw transportAppError(failure, opts.provider);
      }
    },
  };
}
