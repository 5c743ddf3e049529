/**
 * The XT.COM client (services/xtApi.ts) against the stand-in over real HTTP: which answers pass
 * through unchanged, how each failure maps to our error codes, the 1 MB answer cap, and the
 * token handling (refresh first, 401 → refresh once → retry once).
 */
import type { AppError } from '../../src/errors.js';
import type { XtCall } from '../../src/services/xtApi.js';
import type { XtApiFailure } from '../../standins/xtUser.js';
import { type TestClock, testClock } from '../helpers/clock.js';
import { type Harness, type HarnessOptions, sessionJson, rejection, startConnectedXt } from '../helpers/harness.js';

let h: Harness | undefined;
let owner = '';
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** One connected person; `h` and `owner` are kept for afterEach and the tests. */
async function connected(opts: HarnessOptions = {}) {
  const c = await startConnectedXt(opts);
  ({ h, owner } = c);
  return c;
}

const OPEN_ORDERS: XtCall = { method: 'GET', path: '/spot/v4/open-order', query: [] };
const fails = rejection;
const stillConnected = async (hh: Harness) =>
  ((await hh.agent.get('/api/session')).body as { connected: boolean }).connected;

describe("XT.COM's own answers pass through unchanged", () => {
  test('rc 0: status and body as sent', async () => {
    const { h, api } = await connected();
    const answer = await api.call(owner, OPEN_ORDERS);
    expect(answer.status).toBe(200);
    const direct = JSON.parse(answer.body) as { rc: number; result: { orderId: string }[] };
    expect(direct.rc).toBe(0);
    expect(direct.result.length).toBe(2);
    expect(h.xt.apiLog().at(-1)).toMatchObject({ path: '/spot/v4/open-order', status: 200, mc: 'SUCCESS' });
  });

  test('rc 1 with a business mc: its HTTP status and body, byte for byte', async () => {
    const { api } = await connected();
    const answer = await api.call(owner, { method: 'GET', path: '/spot/v4/order', query: [['orderId', '42']] });
    expect(answer).toEqual({ status: 400, body: '{"rc":1,"mc":"ORDER_NOT_FOUND","ma":[],"result":null}' });
  });
});

describe('failures map to our error codes, and nobody is disconnected', () => {
  test.each([
    ['http500', 'provider_unavailable', 502],
    ['html502', 'provider_unavailable', 502],
    ['notjson', 'provider_bad_response', 502],
    ['huge', 'provider_bad_response', 502],
    ['timeout', 'provider_timeout', 504],
  ] as [XtApiFailure, string, number][])('%s → %s (%d)', async (kind, code, status) => {
    const { h, api } = await connected({ env: { PROVIDER_TIMEOUT: '600ms' }, xt: { hangMs: 3000 } });
    h.xt.failApiNext(kind);
    const err = await fails(api.call(owner, OPEN_ORDERS));
    expect(err).toMatchObject({ code, status });
    if (kind === 'huge') expect(err?.detail.reason).toBe('response too large');
    expect(h.xt.calls.api).toBe(1); // not retried
    expect(await stillConnected(h)).toBe(true);
    expect((await api.call(owner, OPEN_ORDERS)).status).toBe(200);
  });

  test('an answer of 900 kB is read whole: the cap is 1 MB', async () => {
    const { h, api } = await connected();
    h.xt.failApiNext('large');
    const answer = await api.call(owner, OPEN_ORDERS);
    expect(answer.status).toBe(200);
    expect(answer.body.length).toBeGreaterThan(900 * 1024);
  });

  test("XT.COM's 429: 429 rate_limited with its Retry-After, and that person's calls are held", async () => {
    const { h, api } = await connected({ xt: { retryAfterSec: 3 } });
    h.xt.failApiNext('rate429');
    const err = await fails(api.call(owner, OPEN_ORDERS));
    expect(err).toMatchObject({ code: 'rate_limited', status: 429, detail: { retryAfterMs: 3000 } });
    expect(err?.retryAfterSec).toBe(3);
    const held = await fails(api.call(owner, OPEN_ORDERS));
    expect(held).toMatchObject({ code: 'rate_limited' });
    expect(h.xt.calls.api).toBe(1); // the held call never reached XT.COM
    expect(await stillConnected(h)).toBe(true);
  });

  test('a 429 without Retry-After holds for 10 s', async () => {
    const { h, api } = await connected();
    h.xt.failApiNext('rate429');
    expect(await fails(api.call(owner, OPEN_ORDERS))).toMatchObject({
      code: 'rate_limited',
      detail: { retryAfterMs: 10_000 },
    });
  });

  test.each([
    '/spot/v4/../v4/open-order',
    '/spot//v4/open-order',
    '/spot/v4/./open-order',
    '/spot/v4/open%2Dorder',
    '/spot/v4/open-order?x=1',
    'spot/v4/open-order',
    '/spot/v4/open-order/',
  ])('a path that could not be sent exactly as signed (%s) is refused before anything is sent', async (path) => {
    const { h, api } = await connected();
    expect(await fails(api.call(owner, { method: 'GET', path, query: [] }))).toMatchObject({ code: 'bad_request' });
    expect(h.xt.calls.api).toBe(0);
  });
});

describe('the token', () => {
  let clock: TestClock;

  test('a stale token is refreshed before the call, not after a 401', async () => {
    clock = testClock();
    const { h, api } = await connected({
      xt: { accessTtlSec: 600, now: () => clock.now() },
      app: { now: () => clock.now() },
    });
    clock.advance(600_000 + 1000);
    expect((await api.call(owner, OPEN_ORDERS)).status).toBe(200);
    expect(h.xt.calls.refresh_token).toBe(1);
    expect(h.xt.apiLog().map((e) => e.status)).toEqual([200]);
  });

  test('a 401 refreshes once and retries once, for a POST too', async () => {
    const { h, api } = await connected();
    h.xt.revokeAccessTokens();
    const placed = await api.call(owner, {
      method: 'POST',
      path: '/spot/v4/order',
      query: [],
      body: '{"symbol":"eth_usdt","side":"BUY","type":"MARKET","quantity":"0.01"}',
    });
    expect(JSON.parse(placed.body)).toMatchObject({ rc: 0 });
    expect(h.xt.calls.refresh_token).toBe(1);
    expect(h.xt.apiLog().map((e) => e.status)).toEqual([401, 200]);
  });

  test('a 401 whose refresh fails for now (the token endpoint answers 500): 503 provider_down, nothing ended', async () => {
    const { h, api } = await connected();
    h.xt.revokeAccessTokens();
    h.xt.failNext('http500', 1, 'refresh_token');
    const err = await fails(api.call(owner, OPEN_ORDERS));
    expect(err).toMatchObject({ code: 'provider_down', status: 503 });
    expect((err as AppError).retryAfterSec).toBeGreaterThanOrEqual(1);
    expect(sessionJson(await h.agent.get('/api/session')).providers.xt.reason).not.toBe('refresh_rejected');
  });

  test('a 401 that survives the refresh: 401 reconnect_required, after exactly two calls', async () => {
    const { h, api } = await connected();
    h.xt.options.refuseAccessTokens = true; // the refreshed token is refused as well
    const err = await fails(api.call(owner, OPEN_ORDERS));
    expect(err).toMatchObject({ code: 'reconnect_required', status: 401 });
    expect(h.xt.calls.api).toBe(2);
  });

  test('no connection: 401 not_connected, nothing sent', async () => {
    const { h, api } = await connected();
    expect(await fails(api.call('someone-else', OPEN_ORDERS))).toMatchObject({ code: 'not_connected', status: 401 });
    expect(h.xt.calls.api).toBe(0);
  });
});
