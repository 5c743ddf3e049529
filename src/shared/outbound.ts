/**
 * The one outbound HTTP client, axios (the design card's client), for XT.COM (token, refresh,
 * user APIs, server time) and for webhook deliveries. openid-client keeps its own fetch
 * (providers/oidc/fetch.ts), held to the same rules. Every request here:
 *  - has one deadline over the whole exchange: connecting, the headers and every byte of the body
 *    (an AbortController timer, not axios' `timeout`, which is a socket idle timer that a body
 *    trickling in a byte at a time keeps resetting);
 *  - reads at most `maxBytes`: a larger declared length is refused before any of it is read, a
 *    larger streamed body as soon as it passes the cap (the socket is destroyed, nothing more is
 *    buffered); or, with `overflow: 'truncate'`, what came is kept and the rest dropped;
 *  - follows no redirect (`maxRedirects: 0`: a 3xx is an answer like any other, for the caller to
 *    refuse), uses no proxy (not even one named in the environment), decompresses nothing;
 *  - sends its body byte for byte (no transformRequest: XT.COM signs the exact bytes) and reads
 *    the answer raw (no transformResponse, no JSON parsing);
 *  - goes over a keep-alive agent of its own.
 *
 * Failures become a TransportFailure here, holding only plain values: an AxiosError carries its
 * `config` (the URL, which for XT.COM's token endpoint holds the client secret; the headers; the
 * body), its `request` and its `response`, and none of that goes further.
 */
import axios, { type AxiosInstance } from 'axios';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';

export type TransportKind = 'timeout' | 'network' | 'too_large' | 'aborted';

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

/** ECONNREFUSED and friends, from an error or its `cause` chain. Only a short code survives. */
export function systemCode(err: unknown): string {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
  }
  return 'unknown';
}

export interface OutboundRequest {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** Sent as these UTF-8 bytes, with their Content-Length. */
  data?: string;
  /** This request's deadline, when not the client's. */
  timeoutMs?: number;
  /** Ends the request early (a `aborted` failure). */
  signal?: AbortSignal;
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface OutboundOptions {
  timeoutMs: number;
  maxBytes: number;
  /**
   * 'refuse' (the default): a larger answer is a too_large failure. 'truncate': the answer is its
   * status; of the body, at most maxBytes are kept and the rest is dropped, and a body cut short
   * (reset, or still coming at the deadline, which still ends the exchange) is no failure.
   */
  overflow?: 'refuse' | 'truncate';
  /** Headers every request sends (a request's own win). */
  headers?: Record<string, string | false>;
}

export interface Outbound {
  /** One exchange; rejects with a TransportFailure only. */
  request(req: OutboundRequest): Promise<OutboundResponse>;
  /** Closes the idle keep-alive connections (at shutdown). */
  close(): void;
}

/** An idle connection is closed after this long, before a server's usual 5 s keep-alive timeout can race a new request on it. */
const IDLE_SOCKET_MS = 4000;

export function createOutbound(opts: OutboundOptions): Outbound {
  const httpAgent = new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' });
  const httpsAgent = new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' });
  const client = axios.create({
    adapter: 'http',
    httpAgent,
    httpsAgent,
    proxy: false,
    maxRedirects: 0,
    decompress: false,
    responseType: 'stream',
    // The cap is enforced below, on the raw stream (axios' own would wrap the stream for nothing).
    maxContentLength: -1,
    // maxBytes caps answers only; what we send is ours (a webhook event may be larger than the 4 kB of an answer we read).
    maxBodyLength: -1,
    validateStatus: () => true,
    transformRequest: [(data: unknown) => data],
    transformResponse: [(data: unknown) => data],
    // No User-Agent of axios' (false: not sent), no compression asked for.
    headers: { Accept: 'application/json', 'Accept-Encoding': 'identity', 'User-Agent': false, ...opts.headers },
  });
  return {
    request: (req) => exchange(client, req, req.timeoutMs ?? opts.timeoutMs, opts.maxBytes, opts.overflow ?? 'refuse'),
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

async function exchange(
  client: AxiosInstance,
  req: OutboundRequest,
  timeoutMs: number,
  maxBytes: number,
  overflow: 'refuse' | 'truncate',
): Promise<OutboundResponse> {
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  if (!/^https?:\/\//i.test(req.url)) throw new TransportFailure('network', 0, 'EPROTO'); // axios would serve a data: URL itself
  const controller = new AbortController();
  let stream: IncomingMessage | undefined;
  let failure: TransportFailure | undefined;
  /** The first failure wins; the request (or the body being read) is torn down. */
  const stop = (f: TransportFailure) => {
    failure ??= f;
    controller.abort();
    stream?.destroy();
  };
  const timer = setTimeout(() => stop(new TransportFailure('timeout', elapsed())), timeoutMs);
  const onAbort = () => stop(new TransportFailure('aborted', elapsed()));
  if (req.signal?.aborted) onAbort();
  req.signal?.addEventListener('abort', onAbort);
  try {
    const res = await client.request<IncomingMessage>({
      method: req.method,
      url: req.url,
      headers: req.headers,
      data: req.data === undefined ? undefined : Buffer.from(req.data, 'utf8'),
      signal: controller.signal,
    });
    stream = res.data;
    if (failure) throw failure;
    const body = await readBody(stream, maxBytes, overflow, (f) => stop(f), elapsed);
    return { status: res.status, headers: stream.headers, body };
  } catch (err) {
    // Only our own failure, or a new one with the system code: never the AxiosError or its cause.
    throw (
      failure ?? (err instanceof TransportFailure ? err : new TransportFailure('network', elapsed(), systemCode(err)))
    );
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
  }
}

/** The body, within the cap; `stop` tears the stream down on a failure (the deadline does too, from outside). */
function readBody(
  res: IncomingMessage,
  maxBytes: number,
  overflow: 'refuse' | 'truncate',
  stop: (f: TransportFailure) => void,
  elapsed: () => number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const fail = (f: TransportFailure) => {
      if (done) return;
      done = true;
      stop(f);
      // Truncating, the body does not matter: the status came, and what was read is kept.
      if (overflow === 'truncate') resolve(Buffer.concat(chunks, total));
      else reject(f);
    };
    const finish = () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, total));
    };
    const declared = Number(res.headers['content-length']);
    if (overflow === 'refuse' && Number.isFinite(declared) && declared > maxBytes)
      return fail(new TransportFailure('too_large', elapsed()));
    res.on('data', (chunk: Buffer) => {
      if (done) return;
      if (total + chunk.length <= maxBytes) {
        chunks.push(chunk);
        total += chunk.length;
      } else if (overflow === 'refuse') fail(new TransportFailure('too_large', elapsed()));
      else {
        chunks.push(chunk.subarray(0, maxBytes - total));
        total = maxBytes;
        finish();
        res.destroy(); // the rest is dropped, with the connection
      }
    });
    res.once('end', finish);
    // (`done` first: an Error's stack costs tens of µs, and every answer closes after its end.)
    res.once('error', (err) => done || fail(new TransportFailure('network', elapsed(), systemCode(err))));
    // Closed before its end (the server reset it, or our deadline destroyed it: then that failure wins).
    res.once('close', () => done || fail(new TransportFailure('network', elapsed(), 'ECONNRESET')));
  });
}
