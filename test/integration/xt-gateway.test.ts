/**
 * /api/xt/* end to end: the app (real XtApi, real guard) against the XT.COM stand-in over real
 * HTTP. Requests whose target must reach the server byte for byte go over a raw socket.
 * What the stand-in received (its own log) is the proof of what was, or was not, forwarded.
 */
import { appChild } from '../helpers/child.js';
import { SESSION_SECRET, TEST_SECRET, connectXt } from '../helpers/harness.js';
import { rawRequest } from '../helpers/rawHttp.js';
import { OPT_IN, ORDER, ORIGIN, type Site, expectOwnError, received, sessionCookie, site } from '../helpers/xtSite.js';

describe('default allow-list', () => {
  let s: Site;
  beforeAll(async () => {
    s = await site();
  });
  afterAll(() => s.stop());

  test('connected: XT.COM’s answer and status come back unchanged, for this person, with no-store', async () => {
    const r = await s.req('GET', '/api/xt/spot/v4/balances?currencies=usdt,btc');
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.headers.etag).toBeUndefined();
    const body = r.json() as { rc: number; result: { assets: { currency: string }[] } };
    expect(body.rc).toBe(0);
    expect(body.result.assets.map((a) => a.currency)).toEqual(['usdt', 'btc']); // the query went through
    const last = received(s).at(-1)!;
    expect(last).toMatchObject({
      method: 'GET',
      path: '/spot/v4/balances',
      userId: s.h.xt.options.userId,
      status: 200,
    });
  });

  test('a business refusal (rc 1) is XT.COM’s own answer, passed through', async () => {
    const r = await s.req('GET', '/api/xt/spot/v4/order/999');
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ rc: 1, mc: 'ORDER_NOT_FOUND' });
    expect(r.headers['cache-control']).toBe('no-store');
  });

  test('/api/session carries the form token; an anonymous one is null and creates no session', async () => {
    expect(s.csrf).toMatch(/^[\w-]{20,}$/);
    expect((await s.req('GET', '/api/session')).json().csrfToken).toBe(s.csrf); // the same token each time
    const anon = await rawRequest(s.port, 'GET', '/api/session');
    expect(anon.status).toBe(200);
    expect(anon.json()).toHaveProperty('csrfToken', null);
    expect(anon.headers['set-cookie']).toBeUndefined();
  });

  test('a POST is refused without opt-in (403 not_allowed), even with the CSRF header; nothing reaches XT.COM', async () => {
    const before = received(s).length;
    expectOwnError(await s.write('POST', '/api/xt/spot/v4/order', ORDER), 403, 'not_allowed');
    expectOwnError(await s.write('DELETE', '/api/xt/spot/v4/order/1'), 403, 'not_allowed');
    expectOwnError(await s.req('GET', '/api/xt/spot/v4/deposit/address'), 403, 'not_allowed');
    expect(received(s).length).toBe(before);
  });

  test.each(['/user/account/api-key', '/USER/account/api-key', '/user/Account/Api-Key'])(
    '%s is always refused',
    async (path) => {
      const before = received(s).length;
      expectOwnError(await s.write('POST', `/api/xt${path}`, {}), 403, 'not_allowed');
      expectOwnError(await s.req('GET', `/api/xt${path}`), 403, 'not_allowed');
      expect(received(s).length).toBe(before);
    },
  );
});

describe('opt-in writes (XT_API_ALLOW)', () => {
  let s: Site;
  beforeAll(async () => {
    s = await site({ XT_API_ALLOW: OPT_IN });
  });
  afterAll(() => s.stop());

  test('POST needs the X-CSRF-Token header and our Origin; with both, the order is placed and can be cancelled', async () => {
    const before = received(s).length;
    expectOwnError(
      await s.req(
        'POST',
        '/api/xt/spot/v4/order',
        { 'Content-Type': 'application/json', Origin: ORIGIN },
        JSON.stringify(ORDER),
      ),
      403,
      'csrf_failed',
    );
    expectOwnError(
      await s.write('POST', '/api/xt/spot/v4/order', ORDER, { 'X-CSRF-Token': 'x'.repeat(43) }),
      403,
      'csrf_failed',
    );
    expectOwnError(
      await s.write('POST', '/api/xt/spot/v4/order', ORDER, { Origin: 'https://evil.example' }),
      403,
      'csrf_failed',
    );
    expectOwnError(await s.write('POST', '/api/xt/spot/v4/order', ORDER, { Origin: 'null' }), 403, 'csrf_failed');
    expect(received(s).length).toBe(before);

    const placed = await s.write('POST', '/api/xt/spot/v4/order', ORDER);
    expect(placed.status).toBe(200);
    const orderId = (placed.json() as { result: { orderId: string } }).result.orderId;
    const open = (await s.req('GET', '/api/xt/spot/v4/open-order')).json() as { result: { orderId: string }[] };
    expect(open.result.map((o) => o.orderId)).toContain(orderId);

    expectOwnError(await s.req('DELETE', `/api/xt/spot/v4/order/${orderId}`), 403, 'csrf_failed');
    const cancelled = await s.write('DELETE', `/api/xt/spot/v4/order/${orderId}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json()).toMatchObject({ rc: 0, result: { cancelId: orderId } });
    expect(
      received(s)
        .slice(before)
        .map((e) => `${e.method} ${e.path}`),
    ).toEqual(['POST /spot/v4/order', 'GET /spot/v4/open-order', `DELETE /spot/v4/order/${orderId}`]);
  });

  test('the api-key path stays refused even if an entry for it got onto the running list', async () => {
    const allow = s.h.built.ctx.config.xtCalls.allow;
    const forged = [
      { method: 'POST' as const, segments: ['user', 'account', 'api-key'], text: 'POST /user/account/api-key' },
      { method: 'POST' as const, segments: ['USER', 'account', 'api-key'], text: 'POST /USER/account/api-key' },
    ];
    allow.push(...forged);
    try {
      const before = received(s).length;
      expectOwnError(await s.write('POST', '/api/xt/user/account/api-key', {}), 403, 'not_allowed');
      expectOwnError(await s.write('POST', '/api/xt/USER/account/api-key', {}), 403, 'not_allowed');
      expect(received(s).length).toBe(before);
    } finally {
      allow.splice(allow.length - forged.length, forged.length);
    }
  });

  test('bodies: JSON only (415), at most 16 kB (413), well-formed (400); nothing of those is sent', async () => {
    const big = JSON.stringify({ ...ORDER, clientOrderId: 'x', pad: 'y'.repeat(16 * 1024) });
    const sentBefore = received(s).length;
    expectOwnError(
      await s.req(
        'POST',
        '/api/xt/spot/v4/order',
        { 'X-CSRF-Token': s.csrf, Origin: ORIGIN, 'Content-Type': 'application/json' },
        big,
      ),
      413,
      'payload_too_large',
    );
    expectOwnError(
      await s.req(
        'POST',
        '/api/xt/spot/v4/order',
        { 'X-CSRF-Token': s.csrf, Origin: ORIGIN, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
        `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`,
      ),
      413,
      'payload_too_large',
    );
    expectOwnError(
      await s.req(
        'POST',
        '/api/xt/spot/v4/order',
        { 'X-CSRF-Token': s.csrf, Origin: ORIGIN, 'Content-Type': 'text/plain' },
        JSON.stringify(ORDER),
      ),
      415,
      'unsupported_media_type',
    );
    expectOwnError(
      await s.req(
        'POST',
        '/api/xt/spot/v4/order',
        { 'X-CSRF-Token': s.csrf, Origin: ORIGIN, 'Content-Type': 'application/x-www-form-urlencoded' },
        'symbol=btc_usdt',
      ),
      415,
      'unsupported_media_type',
    );
    expectOwnError(
      await s.req(
        'POST',
        '/api/xt/spot/v4/order',
        { 'X-CSRF-Token': s.csrf, Origin: ORIGIN, 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
        'xx',
      ),
      415,
      'unsupported_media_type',
    );
    expectOwnError(
      await s.req(
        'POST',
        '/api/xt/spot/v4/order',
        { 'X-CSRF-Token': s.csrf, Origin: ORIGIN, 'Content-Type': 'application/json; charset=latin1' },
        '{}',
      ),
      415,
      'unsupported_media_type',
    );
    expectOwnError(
      await s.req(
        'POST',
        '/api/xt/spot/v4/order',
        { 'X-CSRF-Token': s.csrf, Origin: ORIGIN, 'Content-Type': 'application/json' },
        '{"symbol":',
      ),
      400,
      'bad_request',
    );
    expectOwnError(
      await s.req(
        'POST',
        '/api/xt/spot/v4/order',
        { 'X-CSRF-Token': s.csrf, Origin: ORIGIN, 'Content-Type': 'application/json' },
        '"just a string"',
      ),
      400,
      'bad_request',
    );
    expectOwnError(
      await s.req(
        'POST',
        '/api/xt/spot/v4/order',
        { 'X-CSRF-Token': s.csrf, Origin: ORIGIN, 'Content-Type': 'application/json' },
        Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
      ),
      400,
      'bad_request',
    );
    expect(received(s).length).toBe(sentBefore);

    // Exactly 16 kB is accepted, and its bytes are what XT.COM receives (the stand-in checks the signature over them).
    const exact = JSON.stringify({ ...ORDER, pad: '' });
    const padded = JSON.stringify({ ...ORDER, pad: 'z'.repeat(16 * 1024 - exact.length) });
    expect(Buffer.byteLength(padded)).toBe(16 * 1024);
    const ok = await s.write('POST', '/api/xt/spot/v4/order', JSON.parse(padded));
    expect(ok.status).toBe(200);
    expect(received(s).length).toBe(sentBefore + 1);
  });
});

test('a setting that would allow the api-key path stops the app at start, with a clear message', async () => {
  const child = appChild(0, {
    NODE_ENV: 'test',
    SESSION_SECRET,
    SESSION_STORE: 'memory',
    XT_CLIENT_ID: 'demo-client',
    XT_CLIENT_SECRET: TEST_SECRET,
    XT_API_ALLOW: 'GET /spot/v4/balances,POST /user/*/api-key',
  });
  await expect(child.start()).rejects.toThrow(
    /exited at start \(1\)[\s\S]*XT_API_ALLOW: "POST \/user\/\*\/api-key" would allow \/user\/account\/api-key[\s\S]*never allowed/,
  );
  expect(child.output()).not.toContain(TEST_SECRET);
});

describe('not connected', () => {
  let s: Site;
  beforeAll(async () => {
    s = await site({}, false);
  });
  afterAll(() => s.stop());

  test('no session: 401 not_connected, next login; nothing sent', async () => {
    const r = await s.req('GET', '/api/xt/spot/v4/balances');
    expectOwnError(r, 401, 'not_connected');
    expect(r.json().error?.next).toBe('login');
    expect(received(s)).toEqual([]);
  });

  test('a session whose XT.COM connection ended: 401 reconnect_required', async () => {
    const cb = await connectXt(s.h.agent);
    const cookie = sessionCookie(cb);
    s.h.xt.revokeAccessTokens();
    s.h.xt.revokeRefreshTokens();
    const r = await rawRequest(s.port, 'GET', '/api/xt/spot/v4/balances', { Cookie: cookie });
    expectOwnError(r, 401, 'reconnect_required');
    expect(r.json().error?.next).toBe('reconnect');
  });
});

describe('XT.COM trouble becomes our own answer', () => {
  let s: Site;
  beforeAll(async () => {
    s = await site({ PROVIDER_TIMEOUT: '300ms' });
    s.h.xt.options.hangMs = 2000;
  });
  afterAll(() => s.stop());

  test.each([
    ['http500', 502, 'provider_unavailable'],
    ['html502', 502, 'provider_unavailable'],
    ['notjson', 502, 'provider_bad_response'],
    ['huge', 502, 'provider_bad_response'],
    ['timeout', 504, 'provider_timeout'],
  ] as const)('%s → %i %s', async (failure, status, code) => {
    s.h.xt.failApiNext(failure);
    expectOwnError(await s.req('GET', '/api/xt/spot/v4/open-order'), status, code);
  });
});
