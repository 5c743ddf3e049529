/**
 * The token lifecycle against the XT.COM stand-in: refresh, single-flight, rotation,
 * concurrent session writes, failure semantics, and the API client's 401 path.
 * The app and the stand-in share one clock, which the tests move forward.
 */
import { type TestClock, testClock } from '../helpers/clock.js';
import { type Harness, connectXt, startHarness, sessionJson } from '../helpers/harness.js';

let h: Harness;
let clock: TestClock;
const ACCESS_TTL = 600; // seconds

async function setup(xt: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  clock = testClock();
  h = await startHarness({
    xt: { accessTtlSec: ACCESS_TTL, refreshTtlSec: 7 * 86_400, now: clock.now, ...xt },
    env,
    app: { now: clock.now, backoffBaseMs: 1000 },
  });
  const cb = await connectXt(h.agent);
  expect(cb.status).toBe(303);
}

afterEach(async () => {
  await h?.close();
});

const session = () => h.agent.get('/api/session');

describe('refresh', () => {
  test('an expired access token is refreshed on the next request', async () => {
    await setup();
    const first = sessionJson(await session());
    clock.advance(ACCESS_TTL * 1000 + 1000);
    const res = await session();
    expect(res.status).toBe(200);
    expect(sessionJson(res).connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(1);
    expect(Date.parse(sessionJson(res).accessTokenExpiresAt ?? '')).toBeGreaterThan(
      Date.parse(first.accessTokenExpiresAt ?? ''),
    );
    expect(sessionJson(res).providers.xt.lastRefreshedAt).not.toBeNull();
    expect(sessionJson(res).userId).toBe('12345678'); // kept although the refresh response has no user_id
  });

  test('a token inside the skew window is refreshed before it expires; outside it is not', async () => {
    await setup();
    clock.advance(ACCESS_TTL * 1000 - 61_000);
    await session();
    expect(h.xt.calls.refresh_token).toBe(0);
    clock.advance(2_000); // 59 s left: inside the 60 s window
    expect(sessionJson(await session()).connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(1);
  });

  test('a short-lived token uses 10% of its lifetime as the window', async () => {
    await setup({ accessTtlSec: 100 });
    clock.advance(85_000); // 15 s left > 10 s
    await session();
    expect(h.xt.calls.refresh_token).toBe(0);
    clock.advance(6_000); // 9 s left
    await session();
    expect(h.xt.calls.refresh_token).toBe(1);
  });

  test('20 concurrent requests after expiry make exactly one refresh call, and all succeed', async () => {
    await setup({ tokenDelayMs: 300 });
    clock.advance(ACCESS_TTL * 1000 + 1000);
    const results = await Promise.all(Array.from({ length: 20 }, () => session()));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(results.every((r) => sessionJson(r).connected === true)).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(1);
    const expiries = new Set(results.map((r) => sessionJson(r).accessTokenExpiresAt));
    expect(expiries.size).toBe(1); // everybody continued with the same new token
  });

  test('concurrent API calls after expiry share one refresh and all reach XT.COM with the new token', async () => {
    // XT.COM allows 3 balance calls a second per person: the guard queues the 8 (about 2.4 s), so let them wait.
    await setup({ tokenDelayMs: 200 }, { XT_API_QUEUE_WAIT: '5s' });
    clock.advance(ACCESS_TTL * 1000 + 1000);
    const pages = await Promise.all(Array.from({ length: 8 }, () => h.agent.get('/account')));
    expect(pages.every((p) => p.status === 200 && p.text.includes('USDT'))).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(1);
  });
});

describe('rotation', () => {
  test('a rotated refresh token replaces the old one, which no longer works', async () => {
    await setup({ rotateRefreshTokens: true });
    clock.advance(ACCESS_TTL * 1000 + 1000);
    expect(sessionJson(await session()).connected).toBe(true);
    clock.advance(ACCESS_TTL * 1000 + 1000);
    // The second refresh only succeeds if the stored refresh token is the rotated one.
    expect(sessionJson(await session()).connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(2);
  });

  test('without a new refresh token the old one is kept', async () => {
    await setup({ rotateRefreshTokens: false });
    for (let i = 1; i <= 3; i++) {
      clock.advance(ACCESS_TTL * 1000 + 1000);
      expect(sessionJson(await session()).connected).toBe(true);
      expect(h.xt.calls.refresh_token).toBe(i);
    }
  });

  test('a request that writes the session during a refresh never puts the old token set back (express-openid-connect #408)', async () => {
    await setup({ rotateRefreshTokens: true, tokenDelayMs: 400 });
    clock.advance(ACCESS_TTL * 1000 + 1000);
    // A: needs a refresh (slow). B and C: load the session before the refresh finishes and save it after.
    const a = session();
    await new Promise((r) => setTimeout(r, 50));
    const [b, c] = await Promise.all([h.agent.get('/auth/xt/login'), h.agent.get('/auth/xt/login')]);
    expect(b.status).toBe(302);
    expect(c.status).toBe(302);
    expect(sessionJson(await a).connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(1);
    // The stored set is the new one: no second refresh now, and the next one (with the rotated token) works.
    expect(sessionJson(await session()).connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(1);
    clock.advance(ACCESS_TTL * 1000 + 1000);
    expect(sessionJson(await session()).connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(2);
  });
});

describe('failure semantics', () => {
  test('a rejection (rc != 0) ends the connection but keeps the session, and offers Reconnect', async () => {
    await setup();
    const cookieBefore = (await session()).request.cookies;
    h.xt.failNext('reject', 1, 'refresh_token');
    clock.advance(ACCESS_TTL * 1000 + 1000);
    const res = await session();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ connected: false, reason: 'refresh_rejected' });
    expect(sessionJson(res).providers.xt).toMatchObject({ connected: false, reason: 'refresh_rejected' });
    const account = await h.agent.get('/account');
    expect(account.status).toBe(200);
    expect(account.text).toContain('has ended');
    expect(account.text).toContain('Reconnect XT.COM');
    expect(account.text).toContain('action="/auth/xt/reconnect"'); // renews the same connection in place
    expect(h.xt.calls.refresh_token).toBe(1); // no more attempts with a dead token
    await session();
    expect(h.xt.calls.refresh_token).toBe(1);
    expect((await session()).request.cookies).toBe(cookieBefore);
    // Reconnect works in the same session.
    expect((await connectXt(h.agent)).status).toBe(303);
    expect(sessionJson(await session()).connected).toBe(true);
  });

  test('an expired refresh token is not sent; the person is asked to reconnect', async () => {
    await setup({ refreshTtlSec: 3600 });
    clock.advance(3600 * 1000 + 1000);
    const res = await session();
    expect(res.body).toMatchObject({ connected: false, reason: 'refresh_expired' });
    expect(h.xt.calls.refresh_token).toBe(0);
  });

  test('transient failure while the access token is still valid: keep using it, back off, retry later', async () => {
    await setup();
    clock.advance(ACCESS_TTL * 1000 - 30_000); // inside the window, still valid
    h.xt.failNext('http500', 1, 'refresh_token');
    const first = await session();
    expect(first.status).toBe(200);
    expect(sessionJson(first).connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(1);
    await session();
    await session();
    expect(h.xt.calls.refresh_token).toBe(1); // backing off, not hammering
    const account = await h.agent.get('/account');
    expect(account.text).toContain('could not be reached to renew access');
    clock.advance(1_500); // past the first back-off (1 s)
    expect(sessionJson(await session()).connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(2);
    expect((await h.agent.get('/account')).text).not.toContain('could not be reached to renew access');
  });

  test.each(['timeout', 'html502', 'rate429'] as const)(
    'transient failure (%s) after expiry: a clear 503, nobody is disconnected',
    async (kind) => {
      await setup({ hangMs: 3000 }, { PROVIDER_TIMEOUT: '600ms' }); // the hung call is given up at 600 ms
      clock.advance(ACCESS_TTL * 1000 + 1000);
      h.xt.failNext(kind, 1, 'refresh_token');
      const res = await session();
      expect(res.status).toBe(503);
      expect(sessionJson(res).connected).toBe(false);
      expect(sessionJson(res).providers.xt.reason).toBe('provider_unavailable');
      expect(res.headers['retry-after']).toBeDefined();
      const account = await h.agent.get('/account');
      expect(account.status).toBe(503);
      expect(account.text).toContain('not reachable right now'); // the account page's provider card (not an error page)
      expect(h.xt.calls.refresh_token).toBe(1); // back-off: the account page did not try again
      clock.advance(1_500);
      const back = await session();
      expect(back.status).toBe(200);
      expect(sessionJson(back).connected).toBe(true);
      expect(h.xt.calls.refresh_token).toBe(2);
    },
  );

  test('back-off grows with repeated failures and is capped', async () => {
    await setup({}, { REFRESH_BACKOFF_MAX: '3s' });
    clock.advance(ACCESS_TTL * 1000 + 1000);
    h.xt.failNext('http500', 5, 'refresh_token');
    const seen: number[] = [];
    for (const wait of [0, 1_100, 2_100, 3_100, 3_100]) {
      clock.advance(wait);
      await session();
      seen.push(h.xt.calls.refresh_token);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    clock.advance(1_000); // less than the capped 3 s
    await session();
    expect(h.xt.calls.refresh_token).toBe(5);
  });
});

describe('the XT.COM API client', () => {
  test('sends access-token, and on a 401 refreshes once and retries once', async () => {
    await setup();
    const apiBefore = h.xt.calls.api;
    h.xt.revokeAccessTokens();
    const account = await h.agent.get('/account');
    expect(account.status).toBe(200);
    expect(account.text).toContain('USDT');
    expect(h.xt.calls.refresh_token).toBe(1);
    expect(h.xt.calls.api - apiBefore).toBe(2);
  });

  test('a 401 that survives the refresh asks to reconnect, and the page still works', async () => {
    await setup();
    h.xt.revokeAccessTokens();
    h.xt.failNext('reject', 1, 'refresh_token');
    const account = await h.agent.get('/account');
    expect(account.status).toBe(200);
    expect(h.xt.calls.refresh_token).toBe(1);
    expect(account.text).not.toContain('USDT');
  });

  test('when the balances call fails, the panel says so and the rest of the page works', async () => {
    await setup();
    h.xt.failApiNext('html502');
    const account = await h.agent.get('/account');
    expect(account.status).toBe(200);
    expect(account.text).toContain('Balances could not be loaded');
    expect(account.text).toContain('12345678');
    expect(account.text).toContain('Disconnect');
  });
});

describe('expires_in fallback when tokens carry no exp', () => {
  test.each([
    ['ms', 'ms', ACCESS_TTL * 1000],
    ['s', 's', ACCESS_TTL * 1000],
    ['ms', 's', ACCESS_TTL * 1_000_000],
  ] as const)('stand-in sends %s, app reads %s', async (sent, read, expectedMs) => {
    await setup({ omitExp: true, expiresInUnit: sent }, { XT_EXPIRES_IN_UNIT: read });
    const res = await session();
    const delta = Date.parse(sessionJson(res).accessTokenExpiresAt ?? '') - clock.now();
    expect(Math.abs(delta - expectedMs)).toBeLessThan(expectedMs * 0.01 + 5000);
  });
});
