/**
 * The HTTP client for XT.COM (token, refresh, user APIs, server time): the app's one outbound
 * client, axios (shared/outbound.ts), held to the rules every provider call follows: one deadline
 * over the headers *and* the body, the size cap (a larger declared or received body is refused,
 * never buffered), no redirects followed, no proxy, the body sent byte for byte (XT.COM signs the
 * exact bytes), a keep-alive agent.
 *
 * Failures become a plain AppError here: nothing of axios' errors (their `config` holds the token
 * URL with the client secret, the headers and the body) goes further. The OIDC dialect keeps
 * fetch (openid-client wants one; oidc/fetch.ts holds it to the same rules).
 */
import { createOutbound } from '../../shared/outbound.js';
import { MAX_RESPONSE_BYTES, TransportFailure, systemCode, transportAppError } from '../transport.js';

export interface RawResponse {
  status: number;
  contentType: string;
  body: string;
  /** The Retry-After header, as sent (XT.COM's 429). */
  retryAfter?: string;
}

export interface ProviderHttp {
  request(cfg: {
    method: 'GET' | 'POST' | 'DELETE';
    url: string;
    headers?: Record<string, string>;
    data?: string;
  }): Promise<RawResponse>;
  /** Closes the idle keep-alive connections (at shutdown). */
  close(): void;
}

export function createProviderHttp(opts: { provider: string; timeoutMs: number; maxBytes?: number }): ProviderHttp {
  const outbound = createOutbound({ timeoutMs: opts.timeoutMs, maxBytes: opts.maxBytes ?? MAX_RESPONSE_BYTES });
  return {
    async request(cfg) {
      try {
        const res = await outbound.request(cfg);
        const retryAfter = res.headers['retry-after'];
        return {
          status: res.status,
          contentType: res.headers['content-type'] ?? '',
          body: res.body.toString('utf8'),
          retryAfter: retryAfter === undefined ? undefined : retryAfter.slice(0, 64),
        };
      } catch (err) {
        const failure = err instanceof TransportFailure ? err : new TransportFailure('network', 0, systemCode(err));
        throw transportAppError(failure, opts.provider);
      }
    },
    close: () => outbound.close(),
  };
}
