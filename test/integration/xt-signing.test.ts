/**
 * Signed calls to XT.COM's user APIs, over real HTTP against the
 * stand-in, which checks signatures as XT.COM documents them: both signing styles, every AUTH_
 * fault (a wrong secret, a missing header, a stale timestamp…), and the clock (a host clock 30 s
 * off). Every harness's close() also scans the logs for the API secret and every signature and
 * signed string the stand-in saw.
 */
import { AppError } from '../../src/errors.js';
import type { XtCall } from '../../src/services/xtApi.js';
import { signatureHeaders, wireQuery } from '../../src/providers/xt/sign.js';
import { type TestClock, testClock } from '../helpers/clock.js';
import {
  type Harness,
  type HarnessOptions,
  TEST_SECRET,
  assertNoSecrets,
  rejection,
  startConnectedXt,
} from '../helpers/harness.js';

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

const BALANCES: XtCall = { method: 'GET', path: '/spot/v4/balances', query: [['currencies', 'usdt,btc']] };
const fails = rejection;
const body = (a: { body: string }) =>
  JSON.parse(a.body) as {
    rc: number;
    mc: string;
    result: Record<string, unknown> & { assets?: unknown[]; orderId?: string };
  };
const stillConnected = async (hh: Harness) =>
  ((await hh.agent.get('/api/session')).body as { connected: boolean }).connected;
const errorLines = (hh: Harness) =>
  hh.logs
    .records()
    .filter((r) => r.level === 50 && typeof r.msg === 'string' && r.msg.includes('refused a signed call'));

describe('a signed call succeeds in both styles', () => {
  test.each(['method', 'path'] as const)(
    '%s style: GET with a query, POST with a body, DELETE; the query signed decoded',
    async (style) => {
      const { h, api } = await connected({ env: { XT_SIGN_STYLE: style }, xt: { signStyle: style } });
      const balances = await api.call(owner, BALANCES);
      expect(balances.status).toBe(200);
      expect(body(balances).result.assets).toHaveLength(2);

      // Whitespace, a newline and odd characters: the body's bytes signed must be the bytes sent.
      const order =
        '{ "symbol": "btc_usdt", "side": "BUY", "type": "LIMIT",\n "price": "50000", "quantity": "0.001", "clientOrderId": "my order/1 (é+ü)", "x": "#&=" }\n';
      const placed = await api.call(owner, { method: 'POST', path: '/spot/v4/order', query: [], body: order });
      expect(body(placed)).toMatchObject({ rc: 0, mc: 'SUCCESS' });
      const orderId = body(placed).result.orderId!;
      const byClientId = await api.call(owner, {
        method: 'GET',
        path: '/spot/v4/order',
        query: [['clientOrderId', 'my order/1 (é+ü)']],
      });
      expect(body(byClientId).result).toMatchObject({ orderId, state: 'NEW' });
      const cancelled = await api.call(owner, { method: 'DELETE', path: `/spot/v4/order/${orderId}`, query: [] });
      expect(body(cancelled)).toMatchObject({ rc: 0, result: { cancelId: orderId } });

      const signed = h.xt.signedStrings();
      const y = (method: string, rest: string) => (style === 'method' ? `#${method}#${rest}` : `#${rest}`);
      const x =
        style === 'method'
          ? /^validate-algorithms=HmacSHA256&validate-appkey=demo-client&validate-recvwindow=5000&validate-timestamp=\d{13}#/
          : /^validate-appkey=demo-client&validate-timestamp=\d{13}#/;
      expect(signed.length).toBeGreaterThanOrEqual(4);
      expect(signed.every((s) => x.test(s))).toBe(true);
      expect(signed.some((s) => s.endsWith(y('GET', '/spot/v4/balances#currencies=usdt,btc')))).toBe(true);
      expect(signed.some((s) => s.endsWith(y('POST', `/spot/v4/order#${order}`)))).toBe(true);
      expect(signed.some((s) => s.endsWith(y('GET', '/spot/v4/order#clientOrderId=my order/1 (é+ü)')))).toBe(true);
      expect(signed.some((s) => s.endsWith(y('DELETE', `/spot/v4/order/${orderId}`)))).toBe(true);
      expect(h.xt.apiLog().map((e) => e.mc)).not.toContainEqual(expect.stringMatching(/^AUTH_/));
    },
  );

  test("the account page's balances panel goes through the same signed client", async () => {
    const { h } = await connected();
    const page = await h.agent.get('/account');
    expect(page.text).toContain('USDT');
    expect(h.xt.signedStrings().some((s) => s.endsWith('#GET#/spot/v4/balances'))).toBe(true);
    expect(h.xt.signatures().every((s) => /^[0-9a-f]{64}$/.test(s))).toBe(true);
  });

  test.each([
    ['method', 'path'],
    ['path', 'method'],
  ] as const)(
    'signed in the %s style, checked in the %s style: AUTH_103, 502 provider_misconfigured',
    async (ours, theirs) => {
      const { api } = await connected({ env: { XT_SIGN_STYLE: ours }, xt: { signStyle: theirs } });
      const err = await fails(api.call(owner, BALANCES));
      expect(err).toMatchObject({ code: 'provider_misconfigured', status: 502, detail: { mc: 'AUTH_103' } });
    },
  );
});

describe('misconfiguration is reported, never disconnects', () => {
  test('a wrong API secret: 502 provider_misconfigured, one error line a minute with mc and path only, nobody disconnected', async () => {
    const clock: TestClock = testClock();
    const KEY = 'institution-key-7f3a91';
    const { h, api } = await connected({
      env: { XT_API_KEY: KEY, XT_API_SECRET: 'wrong-api-secret-9c1d2e4f' },
      xt: { apiKey: KEY, apiSecret: 'right-api-secret-0b8e77aa', now: () => clock.now() },
      app: { now: () => clock.now() },
    });
    const page = await h.agent.get('/account');
    expect(page.status).toBe(200);
    expect(page.text).toContain('is misconfigured');
    const err = await fails(api.call(owner, BALANCES));
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({
      code: 'provider_misconfigured',
      status: 502,
      detail: { mc: 'AUTH_103', path: '/spot/v4/balances' },
    });
    await fails(api.call(owner, { method: 'GET', path: '/spot/v4/open-order', query: [] }));

    let lines = errorLines(h);
    expect(lines).toHaveLength(1); // three refusals within a minute: one line
    expect(lines[0]).toMatchObject({ provider: 'xt', mc: 'AUTH_103', path: '/spot/v4/balances' });
    const text = h.logs.text();
    expect(text).not.toContain(KEY);
    assertNoSecrets(text, [
      'wrong-api-secret-9c1d2e4f',
      'right-api-secret-0b8e77aa',
      ...h.xt.signatures(),
      ...h.xt.signedStrings(),
    ]);
    assertNoSecrets(JSON.stringify({ ...err, message: err!.message }), [
      'wrong-api-secret-9c1d2e4f',
      KEY,
      ...h.xt.signatures(),
      ...h.xt.signedStrings(),
    ]);

    clock.advance(61_000);
    await fails(api.call(owner, BALANCES));
    lines = errorLines(h);
    expect(lines).toHaveLength(2);
    expect(await stillConnected(h)).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(0);
  });

  test.each([
    ['validate-appkey missing', { stripHeaders: ['validate-appkey'] }, 'AUTH_001'],
    ['validate-timestamp missing', { stripHeaders: ['validate-timestamp'] }, 'AUTH_002'],
    ['validate-recvwindow missing', { stripHeaders: ['validate-recvwindow'] }, 'AUTH_003'],
    ['validate-algorithms missing', { stripHeaders: ['validate-algorithms'] }, 'AUTH_005'],
    ['validate-signature missing', { stripHeaders: ['validate-signature'] }, 'AUTH_007'],
    ['an unknown key', { apiKey: 'someone-else' }, 'AUTH_101'],
    ['a key not activated', { apiKeyActive: false }, 'AUTH_102'],
    ['a key bound to another IP', { boundIps: ['203.0.113.7'] }, 'AUTH_104'],
    ['a read-only key placing an order', { readOnlyKey: true }, 'AUTH_106'],
  ] as const)(
    '%s → 502 provider_misconfigured with its AUTH_ code, logged, nobody disconnected',
    async (_name, xt, mc) => {
      const { h } = await connected({ xt: { ...xt } as never });
      const call: XtCall =
        mc === 'AUTH_106'
          ? {
              method: 'POST',
              path: '/spot/v4/order',
              query: [],
              body: '{"symbol":"btc_usdt","side":"SELL","type":"MARKET","quantity":"0.001"}',
            }
          : BALANCES;
      const err = await fails(h.built.ctx.xtApi!.call(owner, call));
      expect(err).toMatchObject({ code: 'provider_misconfigured', detail: { mc } });
      expect(h.xt.apiLog().at(-1)).toMatchObject({ mc, status: 200 });
      expect(errorLines(h).map((l) => l.mc)).toEqual([mc]);
      expect(await stillConnected(h)).toBe(true);
      expect(h.xt.calls.refresh_token).toBe(0);
    },
  );

  test('a 401 that carries an AUTH_ code is about our signature, not the token: no refresh, no reconnect', async () => {
    const { h, api } = await connected({
      env: { XT_API_KEY: 'demo-client', XT_API_SECRET: 'not-the-secret-1234' },
      xt: { authFailureStatus: 401 },
    });
    const err = await fails(api.call(owner, BALANCES));
    expect(err).toMatchObject({ code: 'provider_misconfigured', detail: { mc: 'AUTH_103', httpStatus: 401 } });
    expect(h.xt.calls.refresh_token).toBe(0);
    expect(h.xt.calls.api).toBe(1);
    expect(await stillConnected(h)).toBe(true);
  });
});

describe("XT.COM's clock", () => {
  test.each([30_000, -30_000])(
    'XT.COM %d ms from the host: every call works, without a single AUTH_105',
    async (shift) => {
      const { h, api } = await connected({ xt: { clockShiftMs: shift } });
      expect(h.xt.calls.time).toBeGreaterThanOrEqual(1); // read at start
      for (let i = 0; i < 3; i++) expect((await api.call(owner, BALANCES)).status).toBe(200);
      expect((await h.agent.get('/account')).text).toContain('USDT');
      expect(h.xt.apiLog().filter((e) => e.mc === 'AUTH_105')).toEqual([]);
    },
  );

  test('the host clock 30 s ahead of real time works too', async () => {
    const { h, api } = await connected({ app: { now: () => Date.now() + 30_000 } });
    expect((await api.call(owner, BALANCES)).status).toBe(200);
    expect(h.xt.apiLog().filter((e) => e.mc === 'AUTH_105')).toEqual([]);
  });

  test('a stale timestamp (the clocks drifted after the last reading): AUTH_105, one new reading, one retry, success', async () => {
    const { h, api } = await connected();
    expect((await api.call(owner, BALANCES)).status).toBe(200);
    const times = h.xt.calls.time;
    const before = h.xt.apiLog().length;
    h.xt.options.clockShiftMs = 30_000;
    expect((await api.call(owner, BALANCES)).status).toBe(200);
    expect(
      h.xt
        .apiLog()
        .slice(before)
        .map((e) => e.mc),
    ).toEqual(['AUTH_105', 'SUCCESS']);
    expect(h.xt.calls.time).toBe(times + 1);
    expect((await api.call(owner, BALANCES)).status).toBe(200); // and the next call is right first time
    expect(
      h.xt
        .apiLog()
        .slice(before + 2)
        .map((e) => e.mc),
    ).toEqual(['SUCCESS']);
  });

  test('a stale timestamp a new reading does not cure: one retry only, then 502 provider_misconfigured, nobody disconnected', async () => {
    const { h, api } = await connected({ xt: { timeEndpointSkewMs: 30_000 } }); // the time endpoint lies
    const before = h.xt.apiLog().length;
    const err = await fails(api.call(owner, BALANCES));
    expect(err).toMatchObject({ code: 'provider_misconfigured', detail: { mc: 'AUTH_105' } });
    expect(
      h.xt
        .apiLog()
        .slice(before)
        .map((e) => e.mc),
    ).toEqual(['AUTH_105', 'AUTH_105']);
    expect(errorLines(h).map((l) => l.mc)).toEqual(['AUTH_105']);
    expect(await stillConnected(h)).toBe(true);
  });
});

describe('the stand-in checks what XT.COM checks (raw requests)', () => {
  /** Sends GET /spot/v4/balances?currencies=usdt signed by xtSign, with headers changed; returns the mc. */
  async function raw(
    hh: Harness,
    change: {
      timestamp?: number;
      recvWindowMs?: number;
      drop?: string;
      set?: Record<string, string>;
      signedQuery?: [string, string][];
    },
  ) {
    const token = await hh.built.ctx.connections.accessToken(owner, 'xt');
    const query: [string, string][] = [['currencies', 'usdt']];
    const headers: Record<string, string> = {
      ...signatureHeaders({
        method: 'GET',
        path: '/spot/v4/balances',
        query: change.signedQuery ?? query,
        appKey: 'demo-client',
        secret: TEST_SECRET,
        recvWindowMs: change.recvWindowMs ?? 5000,
        timestamp: change.timestamp ?? Date.now(),
        style: 'method',
      }),
      ...change.set,
      'access-token': token,
    };
    if (change.drop) delete headers[change.drop];
    const res = await fetch(`${hh.xt.url}/spot/v4/balances?${wireQuery(query)}`, { headers });
    return ((await res.json()) as { mc: string }).mc;
  }

  test('each header, the window, the algorithm, the signature and the timestamp', async () => {
    const { h } = await connected({ xt: { assetLimitPerSec: 1000 } }); // these bypass our guard
    expect(await raw(h, {})).toBe('SUCCESS');
    expect(await raw(h, { drop: 'validate-appkey' })).toBe('AUTH_001');
    expect(await raw(h, { drop: 'validate-timestamp' })).toBe('AUTH_002');
    expect(await raw(h, { drop: 'validate-recvwindow' })).toBe('AUTH_003');
    expect(await raw(h, { set: { 'validate-recvwindow': '60001' } })).toBe('AUTH_004');
    expect(await raw(h, { drop: 'validate-algorithms' })).toBe('AUTH_005');
    expect(await raw(h, { set: { 'validate-algorithms': 'HmacSHA1' } })).toBe('AUTH_006');
    expect(await raw(h, { drop: 'validate-signature' })).toBe('AUTH_007');
    expect(await raw(h, { signedQuery: [['currencies', 'btc']] })).toBe('AUTH_103');
    expect(await raw(h, { timestamp: Date.now() - 6000 })).toBe('AUTH_105'); // older than the 5 s window
    expect(await raw(h, { timestamp: Date.now() - 4000 })).toBe('SUCCESS');
    expect(await raw(h, { timestamp: Date.now() - 30_000, recvWindowMs: 60_000 })).toBe('SUCCESS');
    expect(await raw(h, { timestamp: Date.now() + 1500 })).toBe('AUTH_105'); // more than 1 s in the future
    expect(await raw(h, { timestamp: Date.now() + 500 })).toBe('SUCCESS');
  });

  test('/v4/public/time is unsigned and tells the stand-in’s own (shifted) time', async () => {
    const { h } = await connected({ xt: { clockShiftMs: -45_000 } });
    const res = (await (await fetch(`${h.xt.url}/v4/public/time`)).json()) as {
      rc: number;
      result: { serverTime: number };
    };
    expect(res.rc).toBe(0);
    expect(Math.round((res.result.serverTime - Date.now()) / 1000)).toBe(-45);
  });
});

describe('secrets', () => {
  test('the scan covers the API secret, every signature and every signed string; none reaches a log, an error or a page', async () => {
    const { h, api } = await connected({
      env: { XT_API_KEY: 'key-for-scan-1', XT_API_SECRET: 'api-secret-for-scan-77' },
      xt: { apiKey: 'key-for-scan-1', apiSecret: 'api-secret-for-scan-77' },
    });
    await api.call(owner, BALANCES);
    const page = await h.agent.get('/account');
    h.xt.failApiNext('notjson');
    const err = await fails(api.call(owner, BALANCES));
    const secrets = h.secrets();
    expect(secrets).toContain('api-secret-for-scan-77');
    for (const s of [...h.xt.signatures(), ...h.xt.signedStrings()]) expect(secrets).toContain(s);
    expect(h.xt.signatures().length).toBeGreaterThanOrEqual(2);
    for (const text of [h.logs.text(), page.text, JSON.stringify({ ...err, message: err?.message, stack: err?.stack })])
      assertNoSecrets(text, secrets);
    // …and the scan does catch one: a signed string in a log line fails it.
    expect(() => assertNoSecrets(`oops ${h.xt.signedStrings()[0]}`, secrets)).toThrow('a secret leaked');
  });
});
