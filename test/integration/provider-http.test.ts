/**
 * The app's outbound client (axios, src/shared/outbound.ts), as XT.COM's client
 * (src/providers/xt/http.ts) and as the webhook sender (src/webhooks/send.ts), against a real local
 * server that misbehaves the ways a provider or the network can: a body that trickles past the
 * deadline, a huge declared or streamed body, a redirect, a refused connection, a connection the
 * server closed while idle, a proxy named in the environment. What comes out is only our own
 * error code, never the request's URL, headers or body.
 */
import fc from 'fast-check';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AppError } from '../../src/errors.js';
import pino from 'pino';
import { createProviderHttp } from '../../src/providers/xt/http.js';
import { XtClock } from '../../src/providers/xt/clock.js';
import { WebhookSender } from '../../src/webhooks/send.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

let server: http.Server | undefined;
let base = '';
const sockets = new Set<Socket>();
let connections = 0;
let requests = 0;

async function serve(handler: Handler): Promise<void> {
  server = http.createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  });
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const client = createProviderHttp({ provider: 'xt', timeoutMs: 600, maxBytes: 64 * 1024 });

afterEach(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
  connections = 0;
  requests = 0;
});
afterAll(() => client.close());

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as AppError,
  );

/** Streams up to 10 MB of spaces, as fast as the reader takes them, telling `sent` each chunk; stops when the reader goes. */
function streamTenMegabytes(res: http.ServerResponse, sent: (bytes: number) => void): void {
  const chunk = Buffer.alloc(16 * 1024, 0x20);
  let total = 0;
  const push = () => {
    while (!res.destroyed && total < 10 * 1024 * 1024) {
      total += chunk.length;
      sent(chunk.length);
      if (!res.write(chunk)) return void res.once('drain', push);
    }
    res.end();
  };
  push();
}

test('a body that trickles past the deadline is a timeout: the deadline covers the body, not just the headers', async () => {
  await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const drip = setInterval(() => (res.destroyed ? clearInterval(drip) : res.write(' ')), 50);
    res.on('close', () => clearInterval(drip));
  });
  const t0 = Date.now();
  const err = await failure(client.request({ method: 'GET', url: `${base}/t` }));
  expect(err).toBeInstanceOf(AppError);
  expect(err).toMatchObject({ code: 'provider_timeout', status: 504 });
  expect(Date.now() - t0).toBeGreaterThanOrEqual(590);
  expect(Date.now() - t0).toBeLessThan(1500);
});

test('a declared body over the cap is refused before any of it is read; a streamed one as soon as it passes the cap', async () => {
  let streamed = 0;
  await serve((req, res) => {
    if (req.url === '/declared') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) });
      res.write('{');
      return; // never finishes: only the declared length can end this quickly
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    streamTenMegabytes(res, (n) => (streamed += n));
  });
  const t0 = Date.now();
  const declared = await failure(client.request({ method: 'GET', url: `${base}/declared` }));
  expect(declared).toMatchObject({ code: 'provider_bad_response', detail: { reason: 'response too large' } });
  expect(Date.now() - t0).toBeLessThan(500);
  const chunked = await failure(client.request({ method: 'GET', url: `${base}/chunked` }));
  expect(chunked).toMatchObject({ code: 'provider_bad_response', detail: { reason: 'response too large' } });
  expect(streamed).toBeLessThan(10 * 1024 * 1024); // the server was cut off, not read to the end
});

test('a redirect is answered as it is, never followed', async () => {
  await serve((req, res) => {
    if (req.url === '/moved') return void res.writeHead(302, { location: `${base}/elsewhere` }).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"followed":true}');
  });
  const answer = await client.request({ method: 'GET', url: `${base}/moved` });
  expect(answer.status).toBe(302);
  expect(requests).toBe(1);
});

test('the body goes out byte for byte, with its length; the answer comes back whole', async () => {
  let received: Buffer | undefined;
  let length: string | undefined;
  await serve((req, res, body) => {
    received = body;
    length = req.headers['content-length'];
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '7' }).end('{"ok":"日本"}');
  });
  const data = '{"symbol":"btc_usdt","note":"€ 中文 \\u0000"}';
  const answer = await client.request({
    method: 'POST',
    url: `${base}/order`,
    headers: { 'Content-Type': 'application/json' },
    data,
  });
  expect(received!.equals(Buffer.from(data, 'utf8'))).toBe(true);
  expect(length).toBe(String(Buffer.byteLength(data)));
  expect(answer).toEqual({
    status: 200,
    contentType: 'application/json; charset=utf-8',
    body: '{"ok":"日本"}',
    retryAfter: '7',
  });
});

test('connections are kept alive and reused; one the server closed while idle is not used again', async () => {
  await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  for (let i = 0; i < 5; i++) expect((await client.request({ method: 'GET', url: `${base}/a` })).status).toBe(200);
  expect(connections).toBe(1);
  for (const s of sockets) s.destroy(); // the server ends the idle connection
  await new Promise((r) => setTimeout(r, 50));
  expect((await client.request({ method: 'GET', url: `${base}/a` })).status).toBe(200);
  expect(connections).toBe(2);
});

test('a refused connection is provider_unavailable with its system code, and nothing of the URL (the client secret) in the error', async () => {
  await serve((_req, res) => res.end());
  const port = (server!.address() as AddressInfo).port;
  await new Promise((r) => server!.close(r));
  server = undefined;
  await fc.assert(
    fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9_-]{12,40}$/), async (secret) => {
      const err = await failure(
        client.request({
          method: 'GET',
          url: `http://127.0.0.1:${port}/public/uaa/oauth2/token?client_secret=${secret}`,
        }),
      );
      expect(err).toMatchObject({
        code: 'provider_unavailable',
        detail: { reason: 'network', transport: 'ECONNREFUSED' },
      });
      const everything = JSON.stringify({
        ...err,
        message: err!.message,
        stack: err!.stack,
        cause: (err as { cause?: unknown }).cause,
      });
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain('client_secret');
    }),
    { numRuns: 25 },
  );
});

test('a proxy named in the environment is not used: the request goes to the host asked for', async () => {
  let proxied = 0;
  const proxy = http.createServer((_req, res) => {
    proxied++;
    res.end('{}');
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const saved = {
    HTTP_PROXY: process.env.HTTP_PROXY,
    http_proxy: process.env.http_proxy,
    NO_PROXY: process.env.NO_PROXY,
  };
  process.env.HTTP_PROXY = process.env.http_proxy = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  delete process.env.NO_PROXY;
  try {
    await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"direct":true}'));
    const fresh = createProviderHttp({ provider: 'xt', timeoutMs: 600 });
    expect((await fresh.request({ method: 'GET', url: `${base}/p` })).body).toBe('{"direct":true}');
    fresh.close();
    expect([requests, proxied]).toEqual([1, 0]);
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    await new Promise((r) => proxy.close(r));
  }
});

/** How the server misbehaves, for the property below. */
const misbehaviours: Record<string, Handler> = {
  trickle: (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const drip = setInterval(() => (res.destroyed ? clearInterval(drip) : res.write(' ')), 50);
    res.on('close', () => clearInterval(drip));
  },
  silent: () => undefined, // never answers: the deadline ends it before the headers
  declaredHuge: (_req, res) => void res.writeHead(200, { 'content-length': String(1 << 30) }).write('{'),
  streamedHuge: (_req, res) => void res.writeHead(200).end(Buffer.alloc(200 * 1024, 0x20)),
  resetMidBody: (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' }).write('{"rc":');
    setTimeout(() => res.socket?.destroy(), 20);
  },
};

test('whatever goes wrong, the error, and the log line about it, hold nothing of the URL, its query, the headers or the body (property)', async () => {
  let kind = 'trickle';
  await serve((req, res, body) => misbehaviours[kind]!(req, res, body));
  const token = fc.stringMatching(/^[A-Za-z0-9_-]{16,40}$/);
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...Object.keys(misbehaviours)),
      token,
      token,
      token,
      async (k, secret, header, data) => {
        kind = k;
        const err = await failure(
          client.request({
            method: 'POST',
            url: `${base}/public/uaa/oauth2/token?client_id=c&client_secret=${secret}`,
            headers: { 'access-token': header, 'validate-signature': header },
            data: JSON.stringify({ note: data }),
          }),
        );
        expect(err).toBeInstanceOf(AppError);
        expect(['provider_timeout', 'provider_bad_response', 'provider_unavailable']).toContain(err!.code);
        const everything = JSON.stringify({
          ...err,
          message: err!.message,
          stack: err!.stack,
          cause: (err as { cause?: unknown }).cause,
          detail: err!.detail,
        });
        for (const s of [secret, header, data, 'client_secret', '/oauth2/token', base])
          expect(everything).not.toContain(s);
        // And what is logged of such a failure: XT.COM's clock logs the one it meets (its URL holds the secret here).
        const lines: string[] = [];
        const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
        expect(await new XtClock({ apiUrl: `${base}/${secret}`, http: client, logger }).sync()).toBe(false);
        expect(lines.length).toBe(1);
        for (const s of [secret, base]) expect(lines.join('')).not.toContain(s);
      },
    ),
    { numRuns: 20 },
  );
});

describe('webhook deliveries', () => {
  const sender = new WebhookSender(`whsec_${Buffer.alloc(32, 7).toString('base64')}`);
  afterAll(() => sender.close());
  const send = (
    path: string,
    body = '{"type":"connection.created"}',
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ) =>
    sender.send('msg_1', body, new Date(), {
      url: `${base}${path}`,
      timeoutMs: opts.timeoutMs ?? 600,
      signal: opts.signal,
    });

  test('the JSON body goes out byte for byte, signed, over one kept-alive connection', async () => {
    const received: Buffer[] = [];
    await serve((req, res, body) => {
      received.push(body);
      expect(req.headers).toMatchObject({
        'content-type': 'application/json',
        'content-length': String(body.length),
        'user-agent': 'xt-connect-webhooks',
      });
      expect(req.headers['webhook-signature']).toMatch(/^v1,/);
      res.writeHead(204).end();
    });
    const body = '{"type":"connection.created","data":{"note":"€ 中文 \\u0000"}}';
    for (let i = 0; i < 3; i++) expect(await send('/in', body)).toEqual({ kind: 'delivered', status: 204 });
    expect(received.every((b) => b.equals(Buffer.from(body, 'utf8')))).toBe(true);
    expect(connections).toBe(1);
  });

  test('an event larger than the 4 kB read of the answer goes out whole (the cap is on answers, not on what we send)', async () => {
    const received: Buffer[] = [];
    await serve((_req, res, body) => {
      received.push(body);
      res.writeHead(204).end();
    });
    for (const size of [4097, 64 * 1024]) {
      const body = JSON.stringify({ type: 'connection.created', data: { scope: '\u0001'.repeat(size) } });
      expect(await send('/in', body)).toEqual({ kind: 'delivered', status: 204 });
      expect(received.at(-1)!.equals(Buffer.from(body, 'utf8'))).toBe(true);
    }
  });

  test('a redirect is a failure with its status, never followed', async () => {
    await serve((req, res) => {
      if (req.url === '/moved') return void res.writeHead(307, { location: `${base}/elsewhere` }).end();
      res.writeHead(200).end();
    });
    expect(await send('/moved')).toEqual({ kind: 'failed', status: 307 });
    expect(requests).toBe(1);
  });

  test('410 is gone; the answer body is read no further than 4 kB, however much the receiver sends', async () => {
    let streamed = 0;
    await serve((req, res) => {
      if (req.url === '/gone') return void res.writeHead(410).end();
      res.writeHead(200);
      streamTenMegabytes(res, (n) => (streamed += n));
    });
    expect(await send('/gone')).toEqual({ kind: 'gone', status: 410 });
    expect(await send('/big')).toEqual({ kind: 'delivered', status: 200 });
    expect(streamed).toBeLessThan(10 * 1024 * 1024);
  });

  test('no answer within the deadline is a timeout; a refused connection its code; the worker stopping is aborted', async () => {
    await serve(() => undefined);
    expect(await send('/hang', undefined, { timeoutMs: 200 })).toEqual({ kind: 'failed', code: 'timeout' });
    const stopping = new AbortController();
    setTimeout(() => stopping.abort(), 50);
    expect(await send('/hang', undefined, { timeoutMs: 5000, signal: stopping.signal })).toEqual({
      kind: 'failed',
      code: 'aborted',
    });
    // A port nobody listens on any more (and this sender never connected to).
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(
      await sender.send('msg_1', '{}', new Date(), {
        url: `http://127.0.0.1:${port}/in?token=t0ps3cret`,
        timeoutMs: 600,
      }),
    ).toEqual({
      kind: 'failed',
      code: 'ECONNREFUSED',
    });
  });
});
