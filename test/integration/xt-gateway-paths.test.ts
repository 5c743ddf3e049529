/**
 * /api/xt path and query hygiene end to end: each traversal form is a 400 before the allow-list is
 * consulted and nothing reaches the stand-in; other methods are 405; and a fast-check property over
 * random paths and queries never gets a 5xx nor reaches a path outside the allow-list.
 */
import fc from 'fast-check';
import { isAllowed, parseAllowList } from '../../src/routes/xt/allowList.js';
import { OPT_IN, type Site, expectOwnError, received, site } from '../helpers/xtSite.js';

describe('malformed targets (default allow-list)', () => {
  let s: Site;
  beforeAll(async () => {
    s = await site();
  });
  afterAll(() => s.stop());

  test.each([
    ['raw ..', '/api/xt/spot/v4/../v4/balances'],
    ['raw .', '/api/xt/spot/v4/./balances'],
    ['trailing ..', '/api/xt/spot/v4/balances/..'],
    ['%2e%2e', '/api/xt/spot/%2e%2e/spot/v4/balances'],
    ['%2E%2E', '/api/xt/spot/%2E%2E/spot/v4/balances'],
    ['.%2e', '/api/xt/spot/.%2e/spot/v4/balances'],
    ['%252e%252e (double-encoded)', '/api/xt/spot/%252e%252e/spot/v4/balances'],
    ['encoded slash', '/api/xt/spot%2fv4/balances'],
    ['//', '/api/xt//spot/v4/balances'],
    ['// to another host', '/api/xt//evil.example/spot/v4/balances'],
    ['backslash', '/api/xt/spot\\v4\\balances'],
    ['%5c', '/api/xt/spot%5cv4/balances'],
    ['%00', '/api/xt/spot/v4/balances%00'],
    ['userinfo @', '/api/xt/@evil.example/spot/v4/balances'],
    ['absolute-form target', 'http://evil.example/api/xt/spot/v4/balances'],
    ['repeated query key', '/api/xt/spot/v4/balances?currencies=usdt&currencies=btc'],
    ['array query', '/api/xt/spot/v4/balances?currencies[]=usdt'],
    ['encoded array query', '/api/xt/spot/v4/balances?currencies%5B%5D=usdt'],
    ['encoded CRLF in query', '/api/xt/spot/v4/balances?currencies=usdt%0d%0aX:1'],
    ['& in a query value (ambiguous once signed decoded)', '/api/xt/spot/v4/order?clientOrderId=a%26b'],
    ['= in a query value', '/api/xt/spot/v4/order?clientOrderId=a%3Db'],
    ['# in a query value', '/api/xt/spot/v4/order?clientOrderId=a%23b'],
  ])('%s: 400 before the allow-list, nothing sent', async (_name, target) => {
    const before = received(s).length;
    expectOwnError(await s.req('GET', target), 400, 'bad_request');
    expect(received(s).length).toBe(before);
  });

  test.each([
    ['raw NUL', '/api/xt/spot/v4/bal\u0000ances'],
    ['raw tab', '/api/xt/spot/v4/bal\tances'],
  ])('%s: 400 (from the HTTP parser), nothing sent', async (_name, target) => {
    const before = received(s).length;
    expect((await s.req('GET', target)).status).toBe(400);
    expect(received(s).length).toBe(before);
  });

  test('a value that reads differently encoded and decoded goes through, and XT.COM (the stand-in) verifies its signature', async () => {
    const before = received(s).length;
    const r = await s.req('GET', '/api/xt/spot/v4/balances?currencies=usdt,btc&note=a+b%2F%C3%A9%2B1');
    expect(r.status).toBe(200);
    expect(
      received(s)
        .slice(before)
        .map((e) => e.mc),
    ).toEqual(['SUCCESS']);
    expect(s.h.xt.signedStrings().at(-1)).toMatch(/#GET#\/spot\/v4\/balances#currencies=usdt,btc&note=a b\/é\+1$/);
  });

  test('a path outside the allow-list that is also malformed is a 400, not a 403', async () => {
    expectOwnError(await s.req('GET', '/api/xt/user/account/../account/api-key'), 400, 'bad_request');
  });

  test.each(['PUT', 'PATCH', 'OPTIONS', 'HEAD'])('%s: 405 with Allow', async (method) => {
    const r = await s.req(method, '/api/xt/spot/v4/balances');
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, POST, DELETE');
    expect(r.headers['cache-control']).toBe('no-store');
  });
});

describe('property: random paths and queries', () => {
  let s: Site;
  const allow = parseAllowList(OPT_IN).entries;
  beforeAll(async () => {
    s = await site({ XT_API_ALLOW: OPT_IN });
  });
  afterAll(() => s.stop());

  const segment = fc.oneof(
    fc.constantFrom(
      'spot',
      'v4',
      'balances',
      'balance',
      'order',
      'open-order',
      'user',
      'account',
      'api-key',
      'API-KEY',
      '123',
      '..',
      '.',
      '',
      '%2e%2e',
      '%2E',
      '%2f',
      '%5c',
      '%00',
      '\\',
      '*',
      '@evil',
      'a;b',
      '%252e',
      'x:y',
    ),
    fc.stringMatching(/^[A-Za-z0-9._~%-]{1,8}$/),
  );
  const key = fc.oneof(
    fc.constantFrom('currencies', 'symbol', 'a[]', 'a%5B%5D', 'a.b', ''),
    fc.stringMatching(/^[a-z]{1,4}$/),
  );
  const value = fc.oneof(
    fc.constantFrom('usdt,btc', '%0d%0a', '%zz', '%c3%28', '+', '%2e%2e%2f', ''),
    fc.stringMatching(/^[A-Za-z0-9%+,._-]{0,8}$/),
  );
  const query = fc
    .array(fc.tuple(key, value), { maxLength: 4 })
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
  const request = fc.record({
    method: fc.constantFrom('GET', 'GET', 'POST', 'DELETE'),
    segments: fc.array(segment, { minLength: 0, maxLength: 5 }),
    prefix: fc.constantFrom([], ['spot', 'v4'], ['user', 'account']),
    query,
  });

  test('never a 5xx, and nothing outside the allow-list ever reaches XT.COM', async () => {
    let passedThrough = 0;
    await fc.assert(
      fc.asyncProperty(request, async ({ method, segments, prefix, query: q }) => {
        const target = `/api/xt/${[...prefix, ...segments].join('/')}${q ? `?${q}` : ''}`;
        const r = method === 'GET' ? await s.req('GET', target) : await s.write(method, target);
        expect(r.status).toBeGreaterThanOrEqual(200);
        expect(r.status).toBeLessThan(500);
        expect(r.headers['cache-control']).toBe('no-store');
        if (/^\{"rc":/.test(r.body)) passedThrough++;
      }),
      { numRuns: 250 },
    );
    const log = received(s);
    expect(log.every((e) => isAllowed(allow, e.method, e.path))).toBe(true);
    expect(log.length).toBe(passedThrough); // every call the stand-in saw was answered as XT.COM's own
    expect(log.filter((e) => e.status === 429)).toEqual([]); // the guard kept us under XT.COM's limits
  });
});
