/**
 * XT.COM's second envelope, `{returnCode, msgInfo, error: {code, msg}, result}` (its "Return
 * Format" page and newer APIs), through the whole app against the stand-in answering in that
 * shape: the token endpoint, the server time, the user APIs and the account page's balances read
 * it as they read `{rc, mc}`, with `error.code` in the part of `mc`.
 */
import type { XtCall } from '../../src/services/xtApi.js';
import { testClock } from '../helpers/clock.js';
import {
  type Harness,
  type HarnessOptions,
  connectXt,
  rejection,
  startConnectedXt,
  startHarness,
} from '../helpers/harness.js';

let h: Harness | undefined;
let owner = '';
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const SHAPE = { envelopeShape: 'returnCode' } as const;

/** One connected person; the stand-in answers in the returnCode shape from the start, or only once the login is done (`after: 'login'`). */
async function connected(opts: HarnessOptions = {}, after?: 'login') {
  const c = await startConnectedXt({ ...opts, xt: { ...(after ? {} : SHAPE), ...opts.xt } });
  ({ h, owner } = c);
  c.h.xt.options.envelopeShape = 'returnCode';
  return c;
}

const BALANCES: XtCall = { method: 'GET', path: '/spot/v4/balances', query: [['currencies', 'usdt,btc']] };
const mcs = (hh: Harness, from: number) =>
  hh.xt
    .apiLog()
    .slice(from)
    .map((e) => e.mc);

describe('the token endpoint', () => {
  test('a login and a refresh answered with returnCode 0 connect and refresh', async () => {
    const clock = testClock();
    const { h, api } = await connected({
      xt: { accessTtlSec: 600, now: () => clock.now() },
      app: { now: () => clock.now() },
    });
    expect(h.xt.calls.authorization_code).toBe(1);
    clock.advance(600_000 + 1000);
    const answer = await api.call(owner, BALANCES);
    expect(JSON.parse(answer.body)).toMatchObject({ returnCode: 0, msgInfo: 'success', error: null });
    expect(h.xt.calls.refresh_token).toBe(1); // the stale token was refreshed before the call
  });

  test('error.code AUTH_103 (a wrong client secret) is provider_misconfigured, with its page', async () => {
    h = await startHarness({ xt: SHAPE, env: { XT_CLIENT_SECRET: 'not-the-client-secret-123' } });
    const res = await connectXt(h.agent);
    expect(res.status).toBe(502);
    expect(res.text).toContain('provider_misconfigured');
  });

  test('another error.code goes where an rc 1 answer goes: provider_rejected', async () => {
    h = await startHarness({ xt: SHAPE });
    h.xt.failNext('reject');
    const rejected = await connectXt(h.agent);
    h.xt.options.envelopeShape = 'rc';
    h.xt.failNext('reject');
    const rc1 = await connectXt(h.agent);
    expect(rejected.text).toContain('provider_rejected');
    expect([rejected.status, rejected.text.includes('provider_rejected')]).toEqual([
      rc1.status,
      rc1.text.includes('provider_rejected'),
    ]);
  });
});

// Logged in under `{rc, mc}`; only the user APIs (and the clock readings they cause) answer in the returnCode shape.
describe('the user APIs', () => {
  test("the server time read at start: XT.COM's clock 30 s away, and no call meets AUTH_105", async () => {
    const { h, api } = await connected({ xt: { clockShiftMs: 30_000 } });
    expect((await api.call(owner, BALANCES)).status).toBe(200);
    expect(mcs(h, 0)).toEqual(['SUCCESS']);
  });

  test('error.code AUTH_105: one new clock reading, one retry, success', async () => {
    const { h, api } = await connected({}, 'login');
    expect((await api.call(owner, BALANCES)).status).toBe(200);
    const times = h.xt.calls.time;
    const before = h.xt.apiLog().length;
    h.xt.options.clockShiftMs = 30_000;
    expect((await api.call(owner, BALANCES)).status).toBe(200);
    expect(mcs(h, before)).toEqual(['AUTH_105', 'SUCCESS']);
    expect(h.xt.calls.time).toBe(times + 1);
  });

  test('error.code AUTH_103 (a wrong API secret) is 502 provider_misconfigured', async () => {
    const { h, api } = await connected(
      { env: { XT_API_KEY: 'demo-client', XT_API_SECRET: 'not-the-secret-1234' } },
      'login',
    );
    expect(await rejection(api.call(owner, BALANCES))).toMatchObject({
      code: 'provider_misconfigured',
      status: 502,
      detail: { mc: 'AUTH_103' },
    });
    expect(h.xt.calls.api).toBe(1);
  });

  test('a business refusal (returnCode 1, error.code ORDER_NOT_FOUND) passes through, byte for byte', async () => {
    const { api } = await connected({}, 'login');
    const answer = await api.call(owner, { method: 'GET', path: '/spot/v4/order', query: [['orderId', '42']] });
    expect(answer).toEqual({
      status: 400,
      body: '{"returnCode":1,"msgInfo":"failure","error":{"code":"ORDER_NOT_FOUND","msg":"ORDER_NOT_FOUND"},"result":null}',
    });
  });

  test("the account page's balances", async () => {
    const { h } = await connected({}, 'login');
    const page = await h.agent.get('/account');
    expect(page.status).toBe(200);
    expect(page.text).toContain('USDT');
  });
});
