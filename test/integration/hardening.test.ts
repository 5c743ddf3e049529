/**
 * The attacks an adversary would try. Each test fails against a naive implementation.
 */
import fc from 'fast-check';
import request from 'supertest';
import { testClock } from '../helpers/clock.js';
import { loadConfig } from '../../src/config/index.js';
import {
  type Harness,
  authorizeAtStandIn,
  connectXt,
  errorCode,
  formToken,
  startHarness,
  sessionJson,
  xtEnv,
} from '../helpers/harness.js';
import { stubProvider } from '../helpers/providers.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const fakeJwt = (claims: Record<string, unknown>) => `${b64({ alg: 'RS256' })}.${b64(claims)}.c2ln`;
const envelope = (result: unknown, rc: unknown = 0) => JSON.stringify({ rc, mc: 'SUCCESS', ma: [], result });

describe('state', () => {
  test('expires at 10 minutes (clock controlled), before the token endpoint is called', async () => {
    const clock = testClock();
    h = await startHarness({ xt: { now: clock.now }, app: { now: clock.now } });
    const late = await h.agent.get('/auth/xt/login');
    clock.advance(10 * 60_000);
    const res = await h.agent.get(await authorizeAtStandIn(late.headers.location!));
    expect(res.status).toBe(400);
    expect(h.xt.calls.authorization_code).toBe(0);
    const inTime = await h.agent.get('/auth/xt/login');
    clock.advance(10 * 60_000 - 1000);
    expect((await h.agent.get(await authorizeAtStandIn(inTime.headers.location!))).status).toBe(303);
  });

  test('a state issued for one provider is refused by another', async () => {
    let exchanged = 0;
    const other = stubProvider({
      id: 'other',
      exchangeCode: async () => {
        exchanged++;
        return { accessToken: 'x' };
      },
    });
    h = await startHarness({ app: { providers: [other] } });
    const login = await h.agent.get('/auth/xt/login');
    const state = new URL(login.headers.location!).searchParams.get('state')!;
    const res = await h.agent.get(`/auth/other/callback?code=abc&state=${encodeURIComponent(state)}`);
    expect(res.status).toBe(400);
    expect(exchanged).toBe(0);
    // …and the misuse spent it: the genuine XT.COM callback no longer works either.
    expect((await h.agent.get(`/auth/xt/callback?code=abc&state=${encodeURIComponent(state)}`)).status).toBe(400);
  });

  test('a flood of logins keeps at most 8 pending transactions and does not grow the session', async () => {
    h = await startHarness();
    const first = await h.agent.get('/auth/xt/login');
    // Every stored session, through the session store's own API (the memory store: one session here).
    const store = h.built.ctx.stores.sessions;
    const allSessions = () =>
      new Promise<Record<string, { owner?: string }>>((resolve, reject) =>
        store.all!((err: unknown, all) =>
          err
            ? reject(err instanceof Error ? err : new Error('store.all failed'))
            : resolve((all ?? {}) as Record<string, { owner?: string }>),
        ),
      );
    const sizeAfterOne = JSON.stringify(await allSessions()).length;
    for (let i = 0; i < 60; i++) expect((await h.agent.get('/auth/xt/login')).status).toBe(302);
    const sessions = Object.entries(await allSessions());
    expect(sessions).toHaveLength(1);
    // The record is sealed, bound to its session id (sealedSessions.ts): opened with the app's key.
    const [sid, sealed] = sessions[0]! as [string, { sealed?: string }];
    const owner = (JSON.parse(h.built.ctx.sealer.open(sealed.sealed!, `session:${sid}`)!) as { owner: string }).owner;
    expect(await h.built.ctx.stores.authState.countTransactions(owner)).toBe(8);
    expect(Math.abs(JSON.stringify(await allSessions()).length - sizeAfterOne)).toBeLessThan(40); // only the cookie expiry moves
    // The oldest was evicted.
    expect((await h.agent.get(await authorizeAtStandIn(first.headers.location!))).status).toBe(400);
  });
});

describe('CSRF on state-changing routes', () => {
  test('a form token from another session is refused', async () => {
    h = await startHarness();
    await connectXt(h.agent);
    const other = request.agent(h.built.app);
    await connectXt(other);
    const otherToken = formToken((await other.get('/account')).text);
    const res = await h.agent.post('/auth/xt/logout').type('form').send({ _csrf: otherToken });
    expect(res.status).toBe(403);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  });

  test('a cross-site form post (foreign Origin, no token) is refused even with the cookie', async () => {
    h = await startHarness();
    await connectXt(h.agent);
    const res = await h.agent.post('/auth/xt/logout').set('Origin', 'https://attacker.example').type('form').send('');
    expect(res.status).toBe(403);
    expect(errorCode(res.text)).toBe('csrf_failed');
  });

  test('the csrf_refused audit line names the provider of the route, and only a configured one (never a name from the path)', async () => {
    h = await startHarness();
    await connectXt(h.agent);
    await h.agent.post('/auth/xt/logout').type('form').send({ _csrf: 'forged' });
    await h.agent.post('/auth/evil-provider/logout').set('Origin', 'https://attacker.example').type('form').send('');
    const refused = h.logs.records().filter((r) => r.audit === true && r.event === 'csrf_refused');
    expect(refused.map((r) => [r.provider, r.reason])).toEqual([
      ['xt', 'bad form token'],
      [undefined, 'foreign origin'],
    ]);
    expect(JSON.stringify(refused)).not.toContain('evil-provider');
  });
});

describe('Host and X-Forwarded-* never reach redirect_uri', () => {
  test.each(['false', 'true'])('TRUST_PROXY=%s', async (trust) => {
    h = await startHarness({ env: { PUBLIC_URL: 'https://connect.example.com', TRUST_PROXY: trust } });
    const res = await h.agent
      .get('/auth/xt/login')
      .set('Host', 'evil.example')
      .set('X-Forwarded-Host', 'evil.example')
      .set('X-Forwarded-Proto', 'http')
      .set('Forwarded', 'host=evil.example;proto=http');
    const redirectUri = new URL(res.headers.location!).searchParams.get('redirect_uri');
    expect(redirectUri).toBe('https://connect.example.com/auth/xt/callback');
    expect(res.headers.location).not.toContain('evil.example');
  });
});

describe('open redirect through returnTo, judged on the Location header a real login sends', () => {
  // Dot segments that the URL parser removes leave `//host`: each was accepted before the fix.
  const payloads = [
    '/.//evil.example/phish',
    '/a/..//evil.example',
    '/%2e//evil.example',
    '/%2e%2e//evil.example',
    '/.%2e//evil.example',
    '/a/%2e%2e/%2e%2e//evil.example',
    '/./\\evil.example',
  ];
  test('every payload, encoded and raw in the query, lands on our own origin', async () => {
    h = await startHarness();
    const origin = h.config.server.publicUrl.origin;
    const queries = payloads.flatMap((p) => [encodeURIComponent(p), p.replace(/\\/g, '%5C')]);
    for (const q of queries) {
      const agent = request.agent(h.built.app);
      const login = await agent.get(`/auth/xt/login?returnTo=${q}`);
      expect(login.status).toBe(302);
      const cb = await agent.get(await authorizeAtStandIn(login.headers.location!));
      expect(cb.status).toBe(303);
      const location = cb.headers.location!;
      // Resolved as the browser resolves it, against the callback URL it is on.
      const landed = new URL(location, `${origin}/auth/xt/callback`);
      expect({ q, origin: landed.origin }).toEqual({ q, origin });
      expect(location.startsWith('//') || location.startsWith('/\\')).toBe(false);
    }
  });
});

describe('rate limiting on /auth/*', () => {
  test('over the limit: a 429 page; other pages are unaffected', async () => {
    h = await startHarness({ env: { AUTH_RATE_LIMIT: '5' } });
    for (let i = 0; i < 5; i++) expect((await h.agent.get('/auth/xt/login')).status).toBe(302);
    const res = await h.agent.get('/auth/xt/login');
    expect(res.status).toBe(429);
    expect(errorCode(res.text)).toBe('rate_limited');
    expect((await h.agent.get('/')).status).toBe(200);
    expect((await h.agent.get('/api/session')).status).toBe(200);
  });

  test('X-Forwarded-For is ignored unless TRUST_PROXY says so', async () => {
    h = await startHarness({ env: { AUTH_RATE_LIMIT: '3' } });
    for (let i = 0; i < 3; i++) await h.agent.get('/auth/xt/login').set('X-Forwarded-For', `10.0.0.${i}`);
    expect((await h.agent.get('/auth/xt/login').set('X-Forwarded-For', '10.0.0.99')).status).toBe(429);
  });

  test('with TRUST_PROXY, each client behind the proxy has its own limit', async () => {
    h = await startHarness({ env: { AUTH_RATE_LIMIT: '3', TRUST_PROXY: '1' } });
    for (let i = 0; i < 3; i++) await h.agent.get('/auth/xt/login').set('X-Forwarded-For', '203.0.113.1');
    expect((await h.agent.get('/auth/xt/login').set('X-Forwarded-For', '203.0.113.1')).status).toBe(429);
    expect((await h.agent.get('/auth/xt/login').set('X-Forwarded-For', '203.0.113.2')).status).toBe(302);
  });

  test('with a hop count, a client cannot choose its IP: 60 logins with forged left-most X-Forwarded-For values are limited as one', async () => {
    h = await startHarness({ env: { AUTH_RATE_LIMIT: '30', TRUST_PROXY: '1' } });
    // The one proxy appends the address it saw (203.0.113.50); everything left of it is the client's own.
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const forged = `198.51.100.${i}, 10.0.${i}.1`;
      statuses.push(
        (await request(h.built.app).get('/auth/xt/login').set('X-Forwarded-For', `${forged}, 203.0.113.50`)).status,
      );
    }
    expect(statuses.filter((s) => s === 302)).toHaveLength(30);
    expect(statuses.slice(30).every((s) => s === 429)).toBe(true);
    const ips = new Set(
      h.logs
        .records()
        .filter((r) => r.audit === true)
        .map((r) => r.ip),
    );
    expect([...ips]).toEqual(['203.0.113.50']);
  });

  test('TRUST_PROXY=true in production starts only with TRUST_PROXY_ALLOW_ANY=true, and says at start what it allows', async () => {
    const prod = { NODE_ENV: 'production', PUBLIC_URL: 'https://connect.example.com', TRUST_PROXY: 'true' };
    expect(() => loadConfig(xtEnv({ url: 'http://127.0.0.1:9' }, prod))).toThrow(
      /TRUST_PROXY: true lets any client choose its IP/,
    );
    h = await startHarness({ env: { ...prod, TRUST_PROXY_ALLOW_ANY: 'true' } });
    const warning = h.logs.records().find((r) => typeof r.msg === 'string' && r.msg.startsWith('TRUST_PROXY=true'));
    expect(warning).toMatchObject({
      level: 40,
      msg: expect.stringMatching(/any client can choose its IP.*TRUST_PROXY=1/) as string,
    });
  });
});

describe('headers', () => {
  test('the callback is no-store and no-referrer, even when it fails', async () => {
    h = await startHarness();
    const ok = await connectXt(h.agent);
    const bad = await h.agent.get('/auth/xt/callback?code=x&state=y');
    for (const res of [ok, bad]) {
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
    expect((await h.agent.get('/api/session')).headers['cache-control']).toBe('no-store');
    expect((await h.agent.get('/account')).headers['cache-control']).toBe('no-store');
  });

  test('every response that depends on the session is no-store and varies on Cookie, connected or not', async () => {
    h = await startHarness();
    const check = async (label: string, res: { headers: Record<string, string> }) => {
      const vary = (res.headers.vary ?? '').toLowerCase().split(/\s*,\s*/);
      expect({ label, cacheControl: res.headers['cache-control'], varyCookie: vary.includes('cookie') }).toEqual({
        label,
        cacheControl: 'no-store',
        varyCookie: true,
      });
    };
    const routes = async (phase: string) => {
      await check(`${phase} GET /`, await h.agent.get('/'));
      await check(`${phase} GET /account`, await h.agent.get('/account'));
      await check(`${phase} GET /api/session`, await h.agent.get('/api/session'));
      await check(`${phase} GET /auth/xt/login`, await h.agent.get('/auth/xt/login'));
      await check(`${phase} GET /auth/xt/callback (bad)`, await h.agent.get('/auth/xt/callback?code=x&state=y'));
      await check(`${phase} GET /auth/nope/login`, await h.agent.get('/auth/nope/login'));
      await check(`${phase} GET /no-such-page`, await h.agent.get('/no-such-page'));
      await check(`${phase} POST /auth/xt/logout (no token)`, await h.agent.post('/auth/xt/logout'));
    };
    await routes('anonymous');
    await check('callback', await connectXt(h.agent));
    await routes('connected');
    const token = formToken((await h.agent.get('/account')).text);
    await check('logout', await h.agent.post('/auth/xt/logout').type('form').send({ _csrf: token }));
    // Static files stay cacheable: they are the same for everyone.
    expect((await h.agent.get('/static/app.css')).headers['cache-control']).toMatch(/max-age/);
  });

  test('provider-supplied text is escaped on the page', async () => {
    h = await startHarness({ xt: { userId: '<img src=x onerror=alert(1)>' } });
    await connectXt(h.agent);
    const page = await h.agent.get('/account');
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).toContain('&lt;img src=x');
  });
});

describe('hostile token responses', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const good = () => ({
    access_token: fakeJwt({ exp: now() + 3600 }),
    refresh_token: fakeJwt({ exp: now() + 86400 }),
    user_id: '1',
    client_id: 'demo-client',
    scope: 'userinfo',
    expires_in: 3600,
  });
  const cases: [string, () => { status?: number; contentType?: string; body: string }][] = [
    ['a wrong content-type', () => ({ contentType: 'text/html', body: envelope(good()) })],
    ['a huge body', () => ({ body: envelope({ ...good(), pad: 'x'.repeat(5 * 1024 * 1024) }) })],
    [
      'deeply nested JSON',
      () => ({ body: `{"rc":0,"mc":"SUCCESS","result":${'['.repeat(20_000)}${']'.repeat(20_000)}}` }),
    ],
    ['rc as a string', () => ({ body: envelope(good(), '0') })],
    ['result null', () => ({ body: envelope(null) })],
    [
      'an access token that is not a JWT',
      () => ({ body: envelope({ ...good(), access_token: 'opaque-token-value' }) }),
    ],
    ['an access token that is a number', () => ({ body: envelope({ ...good(), access_token: 12345 }) })],
    ['exp in the past', () => ({ body: envelope({ ...good(), access_token: fakeJwt({ exp: now() - 10 }) }) })],
    [
      'exp in the far future',
      () => ({ body: envelope({ ...good(), access_token: fakeJwt({ exp: now() + 200 * 365 * 86400 }) }) }),
    ],
    ['a client_id that is not ours', () => ({ body: envelope({ ...good(), client_id: 'someone-else' }) })],
    ['an empty body', () => ({ body: '' })],
    [
      'JSON with // comments, as in the documents',
      () => ({ body: envelope(good()).replace('"scope"', '//x\n"scope"') }),
    ],
    // A redirect is never followed, and its body is not an answer either; nor is an odd 2xx's… 3xx.
    ['tokens in the body of a 302', () => ({ status: 302, body: envelope(good()) })],
    ['tokens in the body of a 304-like 399', () => ({ status: 399, body: envelope(good()) })],
    [
      "both envelope shapes at once (which wins is anybody's guess)",
      () => ({
        body: JSON.stringify({ rc: 0, mc: 'SUCCESS', returnCode: 1, error: { code: 'AUTH_103' }, result: good() }),
      }),
    ],
  ];
  test.each(cases)('%s → a clear error and no stored connection', async (_name, response) => {
    h = await startHarness();
    h.xt.respondNextWith(response());
    const res = await connectXt(h.agent);
    expect(res.status).toBe(502);
    expect(errorCode(res.text)).toBe('provider_bad_response');
    expect(res.text).toContain('href="/auth/xt/login"');
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(false);
  });

  test('a "success" that names an AUTH_ code, in either shape, is our misconfiguration, as on the user API; nothing is stored', async () => {
    h = await startHarness();
    for (const body of [
      JSON.stringify({ rc: 0, mc: 'AUTH_103', ma: [], result: good() }),
      JSON.stringify({
        returnCode: 0,
        msgInfo: 'success',
        error: { code: 'AUTH_103', msg: 'sign error' },
        result: good(),
      }),
    ]) {
      const agent = request.agent(h.built.app);
      h.xt.respondNextWith({ body });
      const res = await connectXt(agent);
      expect(res.status).toBe(502);
      expect(errorCode(res.text)).toBe('provider_misconfigured');
      expect(sessionJson(await agent.get('/api/session')).connected).toBe(false);
    }
  });

  test('a well-formed response still connects (the cases above fail for their own reason)', async () => {
    h = await startHarness();
    h.xt.respondNextWith({ body: envelope(good()) });
    expect((await connectXt(h.agent)).status).toBe(303);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  });

  test('property: any JSON as `result` gives a 303 or a 502, never a 500, and connects only with a usable token', async () => {
    h = await startHarness();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            { access_token: fc.oneof(fc.string(), fc.jsonValue()), client_id: fc.constantFrom('demo-client', 'x') },
            { requiredKeys: [] },
          ),
        ),
        async (result) => {
          const agent = request.agent(h.built.app);
          h.xt.respondNextWith({ body: envelope(result) });
          const res = await connectXt(agent);
          expect([303, 502]).toContain(res.status);
          const connected = sessionJson(await agent.get('/api/session')).connected;
          expect(connected).toBe(res.status === 303);
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});

describe('garbage in the query string', () => {
  const garbage = fc.oneof(
    fc.string({ maxLength: 50 }),
    fc.string({ unit: 'binary', maxLength: 50 }),
    fc.constantFrom(
      '%',
      '%zz',
      '%E0%A4%A',
      '%00',
      '%C0%AF',
      '\u0000',
      '%FF%FE',
      'a'.repeat(9000),
      '[]',
      '__proto__',
      'constructor',
    ),
  );
  const key = fc.oneof(
    fc.constantFrom(
      'code',
      'state',
      'error',
      'returnTo',
      'code[]',
      'state[x]',
      'returnTo[][]',
      '__proto__',
      'error_description',
    ),
    fc.string({ maxLength: 10 }),
  );
  const query = fc
    .array(fc.tuple(key, garbage), { maxLength: 6 })
    .map((pairs) =>
      pairs
        .map(
          ([k, v]) =>
            `${encodeURIComponent(k)}=${Math.random() < 0.5 ? encodeURIComponent(v) : v.replace(/[#\s&]/g, '')}`,
        )
        .join('&'),
    );

  test('property: callback and login never answer 5xx, and the process stays up', async () => {
    h = await startHarness();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/auth/xt/callback', '/auth/xt/login', '/account', '/api/session', '/'),
        query,
        async (path, q) => {
          const res = await h.agent.get(`${path}?${q}`);
          expect(res.status).toBeLessThan(500);
          if (path === '/auth/xt/callback') expect(res.status).toBeGreaterThanOrEqual(400);
        },
      ),
      { numRuns: 300 },
    );
    expect(h.xt.calls.authorization_code).toBe(0);
    expect((await h.agent.get('/healthz')).status).toBe(200);
  }, 60_000);

  test('property: form bodies on logout never answer 5xx', async () => {
    h = await startHarness();
    await connectXt(h.agent);
    await fc.assert(
      fc.asyncProperty(query, async (body) => {
        const res = await h.agent
          .post('/auth/xt/logout')
          .set('Content-Type', 'application/x-www-form-urlencoded')
          .send(body);
        expect([403, 413]).toContain(res.status); // refused (no valid token), or too large
      }),
      { numRuns: 100 },
    );
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  }, 60_000);
});
