/**
 * The authorization-code flow against the XT.COM stand-in: success and every failure branch.
 */
import request from 'supertest';
import { AppError } from '../../src/errors.js';
import type { Provider } from '../../src/providers/types.js';
import {
  type Harness,
  assertNoSecrets,
  authorizeAtStandIn,
  connectXt,
  disconnectXt,
  errorCode,
  formToken,
  startHarness,
  sessionJson,
} from '../helpers/harness.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close(); // scans the logs for secrets
  h = undefined;
});

const cookieOf = (res: request.Response) => ([] as string[]).concat(res.headers['set-cookie'] ?? []);

describe('connect, use and disconnect', () => {
  test('login redirects to the authorization page with every parameter', async () => {
    h = await startHarness();
    const res = await h.agent.get('/auth/xt/login').set('Accept-Language', 'zh-TW,zh;q=0.9,en;q=0.5');
    expect(res.status).toBe(302);
    const url = new URL(res.headers.location!);
    expect(url.origin + url.pathname).toBe(`${h.xt.url}/zh-HK/accounts/oauth2`);
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('client_id')).toBe('demo-client');
    expect(url.searchParams.get('redirect_uri')).toBe('http://127.0.0.1:3999/auth/xt/callback');
    expect(url.searchParams.get('scope')).toBe('userinfo');
    const state = url.searchParams.get('state')!;
    expect(Buffer.from(state, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(url.searchParams.get('client_secret')).toBeNull();
  });

  test('unknown languages fall back to en', async () => {
    h = await startHarness();
    const res = await h.agent.get('/auth/xt/login').set('Accept-Language', 'de-DE,fr;q=0.8');
    expect(new URL(res.headers.location!).pathname).toBe('/en/accounts/oauth2');
  });

  test('a full connection: callback, account page, api, disconnect', async () => {
    h = await startHarness();
    const before = await h.agent.get('/');
    expect(before.text).toContain('href="/auth/xt/login"');
    expect(before.text).toContain('Connect XT.COM');

    const cb = await connectXt(h.agent);
    expect(cb.status).toBe(303);
    expect(cb.headers.location).toBe('/account');
    expect(cb.headers['referrer-policy']).toBe('no-referrer');
    expect(h.xt.calls.authorization_code).toBe(1);

    const account = await h.agent.get('/account');
    expect(account.status).toBe(200);
    expect(account.text).toContain('12345678');
    expect(account.text).toContain('userinfo');
    expect(account.text).toContain('Disconnect');
    expect(account.text).toContain('USDT'); // balances panel
    expect(account.headers['cache-control']).toBe('no-store');

    const api = await h.agent.get('/api/session');
    expect(api.status).toBe(200);
    expect(api.body).toMatchObject({ connected: true, provider: 'xt', userId: '12345678', scope: 'userinfo' });
    expect(Date.parse(sessionJson(api).accessTokenExpiresAt ?? '')).toBeGreaterThan(Date.now());
    for (const page of [account.text, api.text, before.text]) assertNoSecrets(page, h.secrets());

    const out = await h.agent
      .post('/auth/xt/logout')
      .type('form')
      .send({ _csrf: formToken(account.text) });
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('/');
    const after = await h.agent.get('/api/session');
    expect(sessionJson(after).connected).toBe(false);
  });

  test('returnTo is honoured when it is a same-origin path', async () => {
    h = await startHarness();
    const cb = await connectXt(h.agent, { returnTo: '/account?tab=balances' });
    expect(cb.headers.location).toBe('/account?tab=balances');
  });

  test.each([
    '//evil.example',
    '/\\evil.example',
    'https://evil.example/',
    'javascript:alert(1)',
    '%2F%2Fevil.example',
    '/%09/evil.example',
    '/\uff0fevil.example',
    '\\\\evil.example',
    'http:/evil',
  ])('returnTo %j falls back to /account', async (returnTo) => {
    h = await startHarness();
    const cb = await connectXt(h.agent, { returnTo });
    expect(cb.status).toBe(303);
    expect(cb.headers.location).toBe('/account');
  });

  test('the session id changes at login (no fixation)', async () => {
    h = await startHarness();
    const login = await h.agent.get('/auth/xt/login');
    const before = cookieOf(login)
      .find((c) => c.startsWith('xtc.sid='))!
      .split(';')[0];
    const cb = await h.agent.get(await authorizeAtStandIn(login.headers.location!));
    const after = cookieOf(cb)
      .find((c) => c.startsWith('xtc.sid='))!
      .split(';')[0];
    expect(before).toBeTruthy();
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);
  });

  test('two tabs of one session logging in at the same moment both complete', async () => {
    h = await startHarness();
    await h.agent.get('/auth/xt/login'); // the browser already has a session
    const [a, b] = await Promise.all([h.agent.get('/auth/xt/login'), h.agent.get('/auth/xt/login')]);
    const cbA = await authorizeAtStandIn(a.headers.location!);
    const cbB = await authorizeAtStandIn(b.headers.location!);
    const ra = await h.agent.get(cbA);
    const rb = await h.agent.get(cbB);
    expect([ra.status, rb.status]).toEqual([303, 303]);
  });

  test('two tabs started one after the other both complete, in either order', async () => {
    h = await startHarness();
    const a = await h.agent.get('/auth/xt/login');
    const b = await h.agent.get('/auth/xt/login');
    const cbB = await h.agent.get(await authorizeAtStandIn(b.headers.location!));
    const cbA = await h.agent.get(await authorizeAtStandIn(a.headers.location!));
    expect(cbB.status).toBe(303);
    expect(cbA.status).toBe(303);
  });
});

describe('the login transaction refuses', () => {
  test('a replayed callback, before the token endpoint is called; while connected it says so', async () => {
    h = await startHarness();
    const login = await h.agent.get('/auth/xt/login');
    const callback = await authorizeAtStandIn(login.headers.location!);
    expect((await h.agent.get(callback)).status).toBe(303);
    const calls = h.xt.calls.authorization_code;
    // Still connected: back to the account page, told nothing changed.
    const replay = await h.agent.get(callback);
    expect(replay.status).toBe(303);
    expect(replay.headers.location).toBe('/account');
    expect(h.xt.calls.authorization_code).toBe(calls);
    // No longer connected: the same callback is refused as expired.
    await disconnectXt(h.agent);
    const stale = await h.agent.get(callback);
    expect(stale.status).toBe(400);
    expect(errorCode(stale.text)).toBe('login_expired');
    expect(stale.text).toContain('href="/auth/xt/login"');
    expect(h.xt.calls.authorization_code).toBe(calls);
  });

  test('a forged state', async () => {
    h = await startHarness();
    const login = await h.agent.get('/auth/xt/login');
    const callback = new URL(await authorizeAtStandIn(login.headers.location!), 'http://x');
    callback.searchParams.set('state', 'forged-state-value-aaaaaaaaaaaaaaaaaaaaaaaa');
    const res = await h.agent.get(callback.pathname + callback.search);
    expect(res.status).toBe(400);
    expect(h.xt.calls.authorization_code).toBe(0);
  });

  test('a callback from a browser without the session', async () => {
    h = await startHarness();
    const login = await h.agent.get('/auth/xt/login');
    const callback = await authorizeAtStandIn(login.headers.location!);
    const res = await request(h.built.app).get(callback); // no cookie
    expect(res.status).toBe(400);
    expect(errorCode(res.text)).toBe('login_expired');
    expect(h.xt.calls.authorization_code).toBe(0);
  });

  test('a callback whose state belongs to another session', async () => {
    h = await startHarness();
    const victim = request.agent(h.built.app);
    await victim.get('/'); // the victim has no pending login
    await victim.get('/auth/xt/login'); // …or one of their own
    const login = await h.agent.get('/auth/xt/login'); // the attacker's
    const callback = await authorizeAtStandIn(login.headers.location!);
    const res = await victim.get(callback);
    expect(res.status).toBe(400);
    expect(h.xt.calls.authorization_code).toBe(0);
  });

  test('a missing state', async () => {
    h = await startHarness();
    await h.agent.get('/auth/xt/login');
    const res = await h.agent.get('/auth/xt/callback?code=abc');
    expect(res.status).toBe(400);
    expect(h.xt.calls.authorization_code).toBe(0);
  });

  test('denial at XT.COM shows a neutral page (200, not an error) and makes no token call', async () => {
    h = await startHarness();
    const res = await connectXt(h.agent, { decision: 'deny' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('data-state="declined"');
    expect(errorCode(res.text)).toBeUndefined();
    expect(res.text).toContain('href="/auth/xt/login"'); // connect again
    expect(h.xt.calls.authorization_code).toBe(0);
  });

  test('an error callback with no pending login is refused as expired, not shown as a decline', async () => {
    h = await startHarness();
    await h.agent.get('/auth/xt/login');
    const res = await h.agent.get('/auth/xt/callback?error=access_denied&state=forged-state-value-aaaaaaaaaaaaaaaa');
    expect(res.status).toBe(400);
    expect(errorCode(res.text)).toBe('login_expired');
  });

  test('the error page speaks Chinese to a Chinese browser', async () => {
    h = await startHarness();
    const res = await h.agent.get('/auth/xt/callback?state=x&code=y').set('Accept-Language', 'zh-CN');
    expect(res.status).toBe(400);
    expect(errorCode(res.text)).toBe('login_expired');
    expect(res.text).toContain('这次连接请求已过期'); // the message itself, in Chinese
    expect(res.text).toContain('lang="zh-CN"');
  });
});

describe('provider failures during the exchange', () => {
  const cases: [string, Parameters<Harness['xt']['failNext']>[0], number][] = [
    ['rc != 0', 'reject', 502],
    ['an HTML 502', 'html502', 502],
    ['a 500', 'http500', 502],
    ['a truncated body', 'truncated', 502],
    ['a hung endpoint (timeout)', 'timeout', 504],
  ];
  test.each(cases)('%s → a clear error page, nothing stored', async (_name, kind, status) => {
    h = await startHarness({ xt: { hangMs: 5000 }, env: { PROVIDER_TIMEOUT: '600ms' } }); // the hung call is given up at 600 ms
    h.xt.failNext(kind, 1, 'authorization_code');
    const res = await connectXt(h.agent);
    expect(res.status).toBe(status);
    expect(res.text).toMatch(/XT\.COM/);
    expect(res.text).toContain('href="/auth/xt/login"'); // a way forward
    expect(res.text).not.toMatch(/at \w+ \(|node_modules/); // no stack trace
    expect(h.xt.calls.authorization_code).toBe(1); // never retried
    const s = await h.agent.get('/api/session');
    expect(sessionJson(s).connected).toBe(false);
    const failure = h.logs.records().find((r) => r.msg === 'request failed' && r.code);
    expect(failure).toBeDefined();
    expect(JSON.stringify(failure)).not.toContain('client_secret=');
  });

  test('a response without access_token', async () => {
    h = await startHarness();
    h.xt.overrideNextResult((r) => {
      const { access_token: _drop, ...rest } = r;
      return rest;
    });
    const res = await connectXt(h.agent);
    expect(res.status).toBe(502);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(false);
    expect(h.logs.text()).toContain('no access_token');
  });

  test('the rc/mc and HTTP status reach the operator log, the secret does not', async () => {
    h = await startHarness();
    h.xt.failNext('reject', 1, 'authorization_code');
    await connectXt(h.agent);
    const line = h.logs.records().find((r) => r.code === 'provider_rejected')!;
    expect(line.detail).toMatchObject({ rc: 1, mc: 'FAILURE', httpStatus: 200 });
  });
});

describe('bad input never crashes and never 500s', () => {
  test.each([
    '/auth/xt/callback?code[]=a&state=b',
    '/auth/xt/callback?code=a&code=b&state=c',
    '/auth/xt/callback?state[x]=1&code=a',
    `/auth/xt/callback?code=${'a'.repeat(10_000)}&state=b`,
    '/auth/xt/callback?code=%E0%A4%A&state=%',
    '/auth/xt/callback?code=a%00b&state=c',
    '/auth/xt/login?returnTo=/a&returnTo=//evil',
    '/auth/nope/login',
    '/auth/xt/callback?error[]=x',
  ])('%s', async (path) => {
    h = await startHarness();
    const res = await h.agent.get(path);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect((await h.agent.get('/healthz')).status).toBe(200);
  });
});

describe('logout', () => {
  test('POST without the form token is refused and keeps the connection', async () => {
    h = await startHarness();
    await connectXt(h.agent);
    const res = await h.agent.post('/auth/xt/logout').type('form').send({});
    expect(res.status).toBe(403);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  });

  test('POST with a foreign Origin is refused', async () => {
    h = await startHarness();
    await connectXt(h.agent);
    const csrf = formToken((await h.agent.get('/account')).text);
    const res = await h.agent
      .post('/auth/xt/logout')
      .set('Origin', 'https://evil.example')
      .type('form')
      .send({ _csrf: csrf });
    expect(res.status).toBe(403);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  });

  test('GET does nothing', async () => {
    h = await startHarness();
    await connectXt(h.agent);
    const res = await h.agent.get('/auth/xt/logout');
    expect(res.status).toBe(404);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  });
});

describe('cookies and headers', () => {
  test('http PUBLIC_URL: HttpOnly, SameSite=Lax, not Secure', async () => {
    h = await startHarness();
    const c = cookieOf(await h.agent.get('/auth/xt/login')).find((x) => x.startsWith('xtc.sid='))!;
    expect(c).toMatch(/HttpOnly/i);
    expect(c).toMatch(/SameSite=Lax/i);
    expect(c).not.toMatch(/Secure/i);
  });

  test('https PUBLIC_URL: Secure, with the __Host- prefix, and redirect_uri from PUBLIC_URL', async () => {
    h = await startHarness({ env: { PUBLIC_URL: 'https://connect.example.com' } });
    const res = await h.agent
      .get('/auth/xt/login')
      .set('Host', 'evil.example')
      .set('X-Forwarded-Host', 'evil.example')
      .set('X-Forwarded-Proto', 'http');
    const c = cookieOf(res).find((x) => x.startsWith('__Host-xtc='))!;
    expect(c).toMatch(/Secure/);
    expect(c).toMatch(/Path=\//);
    expect(c).not.toMatch(/Domain=/i);
    expect(new URL(res.headers.location!).searchParams.get('redirect_uri')).toBe(
      'https://connect.example.com/auth/xt/callback',
    );
  });

  test('CSP without inline script, no X-Powered-By', async () => {
    h = await startHarness();
    const res = await h.agent.get('/');
    expect(res.headers['x-powered-by']).toBeUndefined();
    const csp = res.headers['content-security-policy']!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.text).not.toMatch(/<script>(?!<\/script>)/);
  });

  test('/healthz answers 200', async () => {
    h = await startHarness();
    const res = await h.agent.get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });
});

describe('production error pages', () => {
  test('an unexpected error shows no stack trace', async () => {
    // A provider whose authorizeUrl has a bug: an unexpected (non-AppError) exception inside a handler.
    const broken: Provider = {
      id: 'broken',
      label: 'Broken',
      checkAvailability: () => true,
      prepareLogin: async () => ({}),
      authorizeUrl: () => {
        throw new TypeError('boom at secret place');
      },
      exchangeCode: async () => ({ accessToken: 'x' }),
      refresh: async () => {
        throw new AppError('provider_rejected');
      },
    };
    h = await startHarness({ env: { NODE_ENV: 'production' }, app: { providers: [broken] } });
    const res = await h.agent.get('/auth/broken/login');
    expect(res.status).toBe(500);
    expect(res.text).not.toContain('boom');
    expect(res.text).not.toMatch(/at \w+/);
    expect(errorCode(res.text)).toBe('internal');
    expect(res.text).toMatch(/class="button primary" href="[^"]+"/); // a way to try again
    expect(h.logs.text()).toContain('boom at secret place'); // the operator still sees it
  });
});
