/**
 * The retry rule. Idempotent reads (connections.get/list, xt.get) and connections.end are tried
 * again on 429 and 503 after Retry-After, at most maxRetries times, never after a wait over 30 s;
 * reads also after no answer at all. xt.post and xt.delete (orders at XT.COM) are sent exactly once.
 * The behaviour against the real app's rate limit first, then exact counts against a loopback server.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { XtConnect, XtConnectError } from '../src/index.js';
import { KEY, type RunningApp, startApp } from './app.js';

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as XtConnectError,
  );

/** A fetch that records each call's method and answer status (0: no answer) before passing it on. */
function recording(inner: typeof fetch = fetch) {
  const seen: { method: string; status: number }[] = [];
  const f: typeof fetch = async (input, init) => {
    try {
      const res = await inner(input, init);
      seen.push({ method: init?.method ?? 'GET', status: res.status });
      return res;
    } catch (err) {
      seen.push({ method: init?.method ?? 'GET', status: 0 });
      throw err;
    }
  };
  return { seen, fetch: f };
}

describe('against the real app (SERVICE_RATE_LIMIT=1 per second per key)', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp({ SERVICE_RATE_LIMIT: '1' });
  });
  afterAll(() => app.close());

  test('a GET over the limit waits for Retry-After and succeeds; a POST over it fails at once', async () => {
    const rec = recording();
    const xc = app.client({ fetch: rec.fetch });
    const started = Date.now();
    const both = await Promise.all([xc.connections.get('42'), xc.connections.get('43')]);
    expect(both.map((c) => c.subject)).toEqual(['42', '43']);
    const refused = rec.seen.filter((s) => s.status === 429).length;
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(rec.seen).toHaveLength(2 + refused);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // the app's Retry-After was honoured

    const before = rec.seen.length;
    await xc.connections.get('42'); // spends this second's request (retried if need be)
    const post = await failure(xc.xt.post('42', '/spot/v4/order', { body: { symbol: 'btc_usdt' } }));
    expect(post).toMatchObject({ code: 'rate_limited', status: 429 });
    expect(post.retryAfter).toBeGreaterThanOrEqual(1);
    expect(rec.seen.slice(before).filter((s) => s.method === 'POST')).toHaveLength(1);
  }, 30_000);
});

/** A loopback server answering each request from `answers` (the last one repeats), counting them. */
async function scripted(answers: { status: number; headers?: Record<string, string>; body?: string }[]) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    const a = answers[Math.min(hits.length - 1, answers.length - 1)]!;
    res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    hits,
    client: (maxRetries?: number) => new XtConnect({ baseUrl, serviceKey: KEY, maxRetries }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const err = (code: string, retryAfter?: number) =>
  JSON.stringify({
    error: {
      code,
      message: code,
      requestId: '0d3e5a0c-7f2b-4d8e-9a61-5b7c2e4f1a90',
      ...(retryAfter ? { retryAfter } : {}),
    },
  });
const busy = (wait: string) => ({ status: 503, headers: { 'retry-after': wait }, body: err('store_unavailable', 1) });
const limited = (wait: string) => ({ status: 429, headers: { 'retry-after': wait }, body: err('rate_limited') });
const OK_CONNECTIONS = { status: 200, body: JSON.stringify({ subject: '42', connected: false, providers: {} }) };

describe('exact counts (a loopback server)', () => {
  let s: Awaited<ReturnType<typeof scripted>> | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  test('a read is tried 1 + maxRetries times, then fails with the last answer’s error', async () => {
    s = await scripted([busy('0')]);
    const e = await failure(s.client().connections.get('42'));
    expect(e).toMatchObject({ code: 'store_unavailable', status: 503, retryAfter: 1 });
    expect(s.hits).toEqual(Array(3).fill('GET /v1/subjects/42/connections'));
    await s.close();
    s = await scripted([limited('0')]);
    await failure(s.client(0).xt.get('42', '/spot/v4/balances'));
    expect(s.hits).toHaveLength(1);
  });

  test('a read succeeds on a later try, after waiting Retry-After seconds', async () => {
    s = await scripted([limited('1'), OK_CONNECTIONS]);
    const started = Date.now();
    await expect(s.client().connections.get('42')).resolves.toMatchObject({ subject: '42' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(s.hits).toHaveLength(2);
  });

  test('a Retry-After over 30 s fails at once, with retryAfter for the caller', async () => {
    s = await scripted([limited('120'), OK_CONNECTIONS]);
    expect(await failure(s.client().connections.list())).toMatchObject({ code: 'rate_limited', retryAfter: 120 });
    expect(s.hits).toHaveLength(1);
  });

  test('xt.post and xt.delete are sent once, whatever the answer; connections.end is retried', async () => {
    s = await scripted([busy('0')]);
    const xc = s.client();
    expect(await failure(xc.xt.post('42', '/spot/v4/order', { body: {} }))).toMatchObject({ status: 503 });
    expect(await failure(xc.xt.delete('42', '/spot/v4/order/1'))).toMatchObject({ status: 503 });
    expect(s.hits).toEqual(['POST /v1/subjects/42/xt/spot/v4/order', 'DELETE /v1/subjects/42/xt/spot/v4/order/1']);
    await s.close();
    s = await scripted([limited('0'), { status: 204 }]);
    await expect(s.client().connections.end('42', 'xt')).resolves.toBeUndefined();
    expect(s.hits).toEqual(Array(2).fill('DELETE /v1/subjects/42/connections/xt'));
  });

  test('other errors are never retried; a non-JSON error page is unexpected_response', async () => {
    s = await scripted([{ status: 502, headers: { 'content-type': 'text/html' }, body: '<h1>Bad gateway</h1>' }]);
    const e = await failure(s.client().connections.get('42'));
    expect(e).toMatchObject({ code: 'unexpected_response', status: 502, body: '<h1>Bad gateway</h1>' });
    expect(s.hits).toHaveLength(1);
  });
});

describe('no answer at all', () => {
  const down = () => {
    const rec = recording(() => Promise.reject(new TypeError('fetch failed')));
    return { rec, xc: new XtConnect({ baseUrl: 'http://127.0.0.1:9', serviceKey: KEY, fetch: rec.fetch }) };
  };

  test('a read is tried again (3 times in all), then fails with code network', async () => {
    const { rec, xc } = down();
    const e = await failure(xc.xt.get('42', '/spot/v4/balances'));
    expect(e).toBeInstanceOf(XtConnectError);
    expect(e).toMatchObject({ code: 'network', status: 0 });
    expect(e.cause).toBeInstanceOf(TypeError);
    expect(rec.seen).toHaveLength(3);
  });

  test('a write, and connections.end, are not', async () => {
    const { rec, xc } = down();
    await failure(xc.xt.post('42', '/spot/v4/order', { body: {} }));
    await failure(xc.xt.delete('42', '/spot/v4/order/1'));
    await failure(xc.connections.end('42', 'xt'));
    expect(rec.seen.map((s) => s.method)).toEqual(['POST', 'DELETE', 'DELETE']);
  });
});
