/**
 * The fetch that openid-client uses for every call to an OIDC provider (discovery, JWKS, token,
 * revocation), held to the same rules as the XT.COM client (see transport.ts):
 *  - a hard timeout (PROVIDER_TIMEOUT) covering the headers *and* the body;
 *  - the same size cap, so a hostile or broken endpoint cannot make us buffer megabytes;
 *  - no redirects followed;
 *  - failures turned into a TransportFailure that holds only plain values. Node's fetch
 *    errors carry the request (URL, headers with Basic credentials) in their `cause`.
 */
import type { CustomFetch } from 'openid-client';
import { MAX_RESPONSE_BYTES, TransportFailure, systemCode } from '../transport.js';

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

export function boundedFetch(opts: { timeoutMs: number; maxBytes?: number }): CustomFetch {
  const maxBytes = opts.maxBytes ?? MAX_RESPONSE_BYTES;
  return async function providerFetch(url, init) {
    const started = Date.now();
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    try {
      const res = await fetch(url, { ...init, body: init.body as RequestInit['body'], signal, redirect: 'manual' });
      const body = await readCapped(res, maxBytes, started);
      // A fresh Response over the bytes already read: openid-client parses it as usual.
      return new Response(NULL_BODY_STATUSES.has(res.status) ? null : body, {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
    } catch (err) {
      if (err instanceof TransportFailure) throw err;
      const elapsed = Date.now() - started;
      if (signal.aborted) throw new TransportFailure('timeout', elapsed);
      throw new TransportFailure('network', elapsed, systemCode(err));
    }
  };
}

async function readCapped(res: Response, maxBytes: number, started: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new TransportFailure('too_large', Date.now() - started);
  }
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new TransportFailure('too_large', Date.now() - started);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
