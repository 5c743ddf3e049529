/**
 * XT.COM's HTTP client (src/providers/http.ts, node:http with keep-alive) against a real local
 * server that misbehaves the ways a provider or the network can: a body that trickles past the
 * deadline, a huge declared or streamed body, a redirect, a refused connection, a connection the
 * server closed while idle. What comes out is only our own error code, never the request's URL.
 */
import fc from 'fast-check';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AppError } from '../../src/errors.js';
import { createProviderHttp } from '../../src/providers/http.js';

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
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const push = () => {
      while (!res.destroyed && streamed < 10 * 1024 * 1024) {
        streamed += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', push);
      }
      res.end();
    };
    push();
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
  const answer = await client.request({ method: 'POST', url: `${base}/order`, headers: { 'Content-Type': 'application/json' }, data });
  expect(received!.equals(Buffer.from(data, 'utf8'))).toBe(true);
  expect(length).toBe(String(Buffer.byteLength(data)));
  expect(answer).toEqual({ status: 200, contentType: 'application/json; charset=utf-8', body: '{"ok":"日本"}', retryAfter: '7' });
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
      const err = await failure(client.request({ method: 'GET', url: `http://127.0.0.1:${port}/public/uaa/oauth2/token?client_secret=${secret}` }));
      expect(err).toMatchObject({ code: 'provider_unavailable', detail: { reason: 'network', transport: 'ECONNREFUSED' } });
      const everything = JSON.stringify({ ...err, message: err!.message, stack: err!.stack, cause: (err as { cause?: unknown }).cause });
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain('client_secret');
    }),
    { numRuns: 25 },
  );
});
