/**
 * The HTTP client for XT.COM: node:http(s) with a keep-alive agent, held to the rules every
 * provider call follows (transport.ts): a hard timeout over the headers *and* the body, the size
 * cap (a larger declared or received body is refused, never buffered), no redirects followed, no
 * proxy, and the body sent byte for byte (XT.COM signs the exact bytes).
 *
 * Failures become a TransportFailure, and then a plain AppError, here: nothing of Node's error
 * objects (which can name the host and port) or of the request (the token URL holds the client
 * secret) goes further.
 *
 * Not fetch: WHATWG fetch costs about a millisecond of CPU per call (its Request, Response and
 * stream objects), which was most of what the callback and the /api/xt gateway added over the
 * provider's own time (bench/results/http.md). The OIDC dialect keeps fetch (openid-client wants
 * one; fetch.ts holds it to the same rules).
 */
import http from 'node:http';
import https from 'node:https';
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
  /** Closes the idle keep-alive connections (at shutdown). */
  close(): void;
}

/** An idle connection is closed after this long, before a server's usual 5 s keep-alive timeout can race a new request on it. */
const IDLE_SOCKET_MS = 4000;

export function createProviderHttp(opts: { provider: string; timeoutMs: number; maxBytes?: number }): ProviderHttp {
  const maxBytes = opts.maxBytes ?? MAX_RESPONSE_BYTES;
  const agents = {
    http: new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' }),
    https: new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' }),
  };
  return {
    async request(cfg) {
      const started = Date.now();
      try {
        return await send(cfg, agents, opts.timeoutMs, maxBytes);
      } catch (err) {
        const failure = err instanceof TransportFailure ? err : new TransportFailure('network', Date.now() - started, systemCode(err));
        throw transportAppError(failure, opts.provider);
      }
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

type Agents = { http: http.Agent; https: https.Agent };

function send(
  cfg: { method: string; url: string; headers?: Record<string, string>; data?: string },
  agents: Agents,
  timeoutMs: number,
  maxBytes: number,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const url = new URL(cfg.url);
    const tls = url.protocol === 'https:';
    if (!tls && url.protocol !== 'http:') return reject(new TransportFailure('network', 0, 'EPROTO'));
    const body = cfg.data === undefined ? undefined : Buffer.from(cfg.data, 'utf8');
    const headers: Record<string, string> = { Accept: 'application/json', ...cfg.headers };
    if (body) headers['Content-Length'] = String(body.length);
    let settled = false;
    const fail = (f: TransportFailure) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(f);
    };
    const req = (tls ? https : http).request(url, { method: cfg.method, headers, agent: tls ? agents.https : agents.http });
    // One deadline for the whole exchange: connecting, the headers and every byte of the body.
    const timer = setTimeout(() => fail(new TransportFailure('timeout', Date.now() - started)), timeoutMs);
    req.once('error', (err) => fail(new TransportFailure('network', Date.now() - started, systemCode(err))));
    req.once('response', (res) => {
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) return fail(new TransportFailure('too_large', Date.now() - started));
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > maxBytes) return fail(new TransportFailure('too_large', Date.now() - started));
        chunks.push(chunk);
      });
      res.once('error', (err) => fail(new TransportFailure('network', Date.now() - started, systemCode(err))));
      res.once('aborted', () => fail(new TransportFailure('network', Date.now() - started, 'ECONNRESET')));
      res.once('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const retryAfter = res.headers['retry-after'];
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'] ?? '',
          body: Buffer.concat(chunks, total).toString('utf8'),
          retryAfter: retryAfter === undefined ? undefined : retryAfter.slice(0, 64),
        });
      });
    });
    req.end(body);
  });
}
