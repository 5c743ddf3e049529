/**
 * The only door to provider HTTP. axios errors carry the full request URL (for XT.COM that
 * includes the client secret) and the raw response; they are classified here and dropped, and
 * the caller only ever sees an AppError holding plain values.
 */
import axios, { type AxiosInstance, type AxiosRequestConfig } from 'axios';
import { AppError } from '../errors.js';

export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface RawResponse {
  status: number;
  contentType: string;
  body: string;
}

export interface ProviderHttp {
  request(cfg: { method: 'GET' | 'POST'; url: string; headers?: Record<string, string>; data?: string }): Promise<RawResponse>;
}

export function createProviderHttp(opts: { provider: string; timeoutMs: number; maxBytes?: number }): ProviderHttp {
  const client: AxiosInstance = axios.create({
    timeout: opts.timeoutMs,
    maxRedirects: 0,
    maxContentLength: opts.maxBytes ?? MAX_RESPONSE_BYTES,
    maxBodyLength: opts.maxBytes ?? MAX_RESPONSE_BYTES,
    responseType: 'text',
    transformResponse: [(d: unknown) => d],
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
        };
      } catch (err) {
        throw classifyTransportError(err, opts.provider, Date.now() - started);
      }
    },
  };
}

/** Maps a transport failure to an AppError. Only the error's code and message class survive. */
function classifyTransportError(err: unknown, provider: string, elapsedMs: number): AppError {
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : '';
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || code === 'ERR_CANCELED' || /timeout/i.test(message)) {
    return new AppError('provider_timeout', 504, { provider, detail: { reason: 'timeout', elapsedMs } });
  }
  if (/maxContentLength/i.test(message) || code === 'ERR_BAD_RESPONSE') {
    return new AppError('provider_bad_response', 502, { provider, detail: { reason: 'response too large' } });
  }
  return new AppError('provider_unavailable', 502, {
    provider,
    detail: { reason: 'network', transport: typeof code === 'string' ? code : 'unknown', elapsedMs },
  });
}

/** Parses a JSON body, or throws provider_bad_response (an HTML error page, a truncated body, …). */
export function parseJsonBody(res: RawResponse, provider: string): unknown {
  try {
    return JSON.parse(res.body);
  } catch {
    throw new AppError('provider_bad_response', 502, {
      provider,
      detail: { reason: 'not JSON', httpStatus: res.status, contentType: res.contentType.slice(0, 60) },
    });
  }
}
