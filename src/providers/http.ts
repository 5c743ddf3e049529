/**
 * The axios client for XT.COM. axios errors carry the full request URL (for the token call that
 * includes the client secret) and the raw response; they become a TransportFailure here and are
 * dropped, so the caller only ever sees an AppError holding plain values.
 */
import axios, { type AxiosInstance, type AxiosRequestConfig } from 'axios';
import { MAX_RESPONSE_BYTES, TransportFailure, systemCode, transportAppError } from './transport.js';

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
  const client: AxiosInstance = axios.create({
    timeout: opts.timeoutMs,
    maxRedirects: 0,
    maxContentLength: opts.maxBytes ?? MAX_RESPONSE_BYTES,
    maxBodyLength: opts.maxBytes ?? MAX_RESPONSE_BYTES,
    responseType: 'text',
    transformResponse: [(d: unknown) => d],
    // The body goes out byte for byte (axios would trim a JSON string): XT.COM signs the exact bytes.
    transformRequest: [(d: unknown) => d],
    validateStatus: () => true,
    proxy: false,
    headers: { Accept: 'application/json' },
  });
  return {
    async request(cfg) {
      const started = Date.now();
      try {
        const res = await client.request<string>({ ...cfg, signal: AbortSignal.timeout(opts.timeoutMs + 1000) } as AxiosRequestConfig);
        return {
          status: res.status,
          contentType: String(res.headers['content-type'] ?? ''),
          body: typeof res.data === 'string' ? res.data : '',
          retryAfter: typeof res.headers['retry-after'] === 'string' ? res.headers['retry-after'].slice(0, 64) : undefined,
        };
      } catch (err) {
        throw transportAppError(axiosFailure(err, Date.now() - started), opts.provider);
      }
    },
  };
}

/** Reads an axios error by its documented `code` only; the object itself goes no further. */
function axiosFailure(err: unknown, elapsedMs: number): TransportFailure {
  const code = (err as { code?: unknown })?.code;
  // ECONNABORTED/ETIMEDOUT: axios's own timeout; ERR_CANCELED: the AbortSignal backstop.
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || code === 'ERR_CANCELED') return new TransportFailure('timeout', elapsedMs);
  // ERR_BAD_RESPONSE: axios refused the body (over maxContentLength).
  if (code === 'ERR_BAD_RESPONSE') return new TransportFailure('too_large', elapsedMs);
  return new TransportFailure('network', elapsedMs, systemCode(err));
}
