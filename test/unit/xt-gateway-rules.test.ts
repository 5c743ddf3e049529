/**
 * The pure rules of /api/xt: which paths and queries are in their one plain form (routes/xt/target.ts),
 * and what XT_API_ALLOW allows (routes/xt/allowList.ts), including the api-key path that nothing allows.
 */
import { AppError } from '../../src/errors.js';
import { loadConfig } from '../../src/config/index.js';
import { parseQuery, parseXtTarget, pathProblem } from '../../src/routes/xt/target.js';
import { DEFAULT_XT_API_ALLOW, isAllowed, parseAllowList } from '../../src/routes/xt/allowList.js';

const reason = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    expect(err.code).toBe('bad_request');
    return String(err.detail.reason);
  }
};

describe('paths: refused, never repaired', () => {
  test.each(
    [
      ['/spot/v4/../v4/balances', 'dot segment'],
      ['/spot/v4/./balances', 'dot segment'],
      ['/spot/v4/..', 'dot segment'],
      ['/spot/%2e%2e/balances', 'encoded dot'],
      ['/spot/%2E%2E/balances', 'encoded dot'],
      ['/spot/.%2e/balances', 'encoded dot'],
      ['/spot/%2e/balances', 'encoded dot'],
      ['/spot%2fv4/balances', 'encoded slash'],
      ['/spot%2Fv4/balances', 'encoded slash'],
      ['//evil.example/spot/v4/balances', 'empty segment'],
      ['/spot//v4/balances', 'empty segment'],
      ['/spot/v4/balances/', 'empty segment'],
      ['/spot\\v4/balances', 'backslash'],
      ['/spot%5cv4/balances', 'backslash'],
      ['/spot/v4/balances%00', 'percent-encoding'],
      ['/spot/v4/bal\u0000ances', 'control character'],
      ['/spot/v4/bal\tances', 'control character'],
      ['/spot/%252e%252e/balances', 'percent-encoding'],
      ['/user@evil.example/x', 'character not allowed'],
      ['/http:/x', 'character not allowed'],
      ['/spot/v4/balances;x=1', 'character not allowed'],
      ['spot/v4/balances', 'path must start with /'],
      ['', 'path must start with /'],
      [`/${'a/'.repeat(20)}b`, 'too many segments'],
      [`/${'a'.repeat(300)}`, 'path too long'],
    ].map(([p, why]) => [p!.length > 60 ? `${p!.slice(0, 40)}…` : p!, why!, p!]),
  )('%j → %s', (_label, why, path) => {
    expect(pathProblem(path)).toBe(why);
    expect(reason(() => parseXtTarget(path))).toBe(why);
  });

  test.each(['/spot/v4/balances', '/spot/v4/order/123456789', '/spot/v4/open-order', '/a.b/c~d/e_f'])(
    '%s is plain',
    (path) => {
      expect(pathProblem(path)).toBeUndefined();
      expect(parseXtTarget(path)).toEqual({ path, query: [] });
    },
  );
});

describe('queries', () => {
  test('pairs come back decoded, in the order given', () => {
    expect(parseXtTarget('/spot/v4/balances?currencies=usdt,btc&x=a%20b+c')).toEqual({
      path: '/spot/v4/balances',
      query: [
        ['currencies', 'usdt,btc'],
        ['x', 'a b c'],
      ],
    });
    expect(parseQuery('flag')).toEqual([['flag', '']]);
    expect(parseQuery('')).toEqual([]);
  });

  test.each(
    [
      ['a=1&a=2', 'repeated query key'],
      ['a[]=1', 'array syntax in query'],
      ['a%5B%5D=1', 'array syntax in query'],
      ['a[0]=1', 'array syntax in query'],
      ['a.b=1', 'invalid query key'],
      ['=1', 'invalid query key'],
      ['a=1&&b=2', 'empty query pair'],
      ['a=%zz', 'invalid query encoding'],
      ['a=%c3%28', 'invalid query encoding'],
      ['a=%00', 'control character in query'],
      ['a=%0d%0aX-Injected:1', 'control character in query'],
      [`a=${'x'.repeat(1100)}`, 'query value too long'],
      [Array.from({ length: 40 }, (_, i) => `k${i}=1`).join('&'), 'too many query pairs'],
    ].map(([q, why]) => [q!.length > 40 ? `${q!.slice(0, 40)}…` : q!, why!, q!]),
  )('%j → %s', (_label, why, query) => {
    expect(reason(() => parseQuery(query))).toBe(why);
  });

  test('a fragment is refused', () => {
    expect(reason(() => parseXtTarget('/spot/v4/balances?a=1#x'))).toBe('fragment in request');
  });
});

describe('XT_API_ALLOW', () => {
  const defaults = parseAllowList(DEFAULT_XT_API_ALLOW);

  test('the default is read-only', () => {
    expect(defaults.problems).toEqual([]);
    expect(defaults.entries.every((e) => e.method === 'GET')).toBe(true);
    expect(isAllowed(defaults.entries, 'GET', '/spot/v4/balances')).toBe(true);
    expect(isAllowed(defaults.entries, 'GET', '/spot/v4/order/42')).toBe(true);
    expect(isAllowed(defaults.entries, 'GET', '/spot/v4/order/42/x')).toBe(false); // * is one segment
    expect(isAllowed(defaults.entries, 'POST', '/spot/v4/order')).toBe(false);
    expect(isAllowed(defaults.entries, 'DELETE', '/spot/v4/order/42')).toBe(false);
    expect(isAllowed(defaults.entries, 'GET', '/spot/v4/Balances')).toBe(false); // exact, case included
  });

  test('a setting replaces the default', () => {
    const { entries, problems } = parseAllowList('GET /spot/v4/balances, post /spot/v4/order ,DELETE /spot/v4/order/*');
    expect(problems).toEqual([]);
    expect(isAllowed(entries, 'POST', '/spot/v4/order')).toBe(true);
    expect(isAllowed(entries, 'DELETE', '/spot/v4/order/7')).toBe(true);
    expect(isAllowed(entries, 'GET', '/spot/v4/open-order')).toBe(false);
  });

  test.each([
    'POST /user/account/api-key',
    'GET /user/account/api-key',
    'POST /user/account/*',
    'POST /*/account/api-key',
    'POST /*/*/*',
    'post /User/Account/API-KEY',
    // Paths next to it: a router with suffix matching or one that drops a trailing dot or segment
    // would still answer with the secret.
    'POST /user/account/api-key.json',
    'POST /user/account/api-key.',
    'POST /user/account/api-key/*',
    'POST /user/account/API-KEYS',
    'POST /*/*/*/*',
  ])('%j would allow the api-key path: a start-up error', (entry) => {
    const { entries, problems } = parseAllowList(`GET /spot/v4/balances,${entry}`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/never allowed/);
    expect(entries).toHaveLength(1);
    expect(() =>
      loadConfig({
        SESSION_SECRET: 'x'.repeat(40),
        XT_ENABLED: 'false',
        XT_API_ALLOW: `GET /spot/v4/balances,${entry}`,
      }),
    ).toThrow(/XT_API_ALLOW: .*never allowed/);
  });

  test('the api-key path is refused by the matcher too, whatever the list holds', () => {
    const forged = [{ method: 'POST' as const, segments: ['user', 'account', 'api-key'], text: 'forged' }];
    expect(isAllowed(forged, 'POST', '/user/account/api-key')).toBe(false);
    const near = [
      { method: 'POST' as const, segments: ['user', 'account', 'api-key.json'], text: 'forged' },
      { method: 'POST' as const, segments: ['user', 'account', 'api-key', 'x'], text: 'forged' },
    ];
    expect(isAllowed(near, 'POST', '/user/account/api-key.json')).toBe(false);
    expect(isAllowed(near, 'POST', '/user/account/api-key/x')).toBe(false);
  });

  test.each([
    'PUT /spot/v4/order',
    'GET spot/v4/order',
    'GET /spot//order',
    'GET /spot/../order',
    'GET /spot/v4/order?x=1',
    'GET',
    ' , ',
  ])('%j is a start-up error', (text) => {
    expect(parseAllowList(text).problems.length).toBeGreaterThan(0);
  });

  test('config: defaults and the other two settings', () => {
    const base = { SESSION_SECRET: 'x'.repeat(40), XT_ENABLED: 'false' };
    const c = loadConfig(base);
    expect(c.xtCalls.ipLimitPerMinute).toBe(1000);
    expect(c.xtCalls.queueWaitMs).toBe(2000);
    expect(c.xtCalls.allow.map((e) => e.text)).toEqual(DEFAULT_XT_API_ALLOW.split(','));
    const d = loadConfig({ ...base, XT_API_IP_LIMIT: '600', XT_API_QUEUE_WAIT: '500ms' });
    expect(d.xtCalls).toMatchObject({ ipLimitPerMinute: 600, queueWaitMs: 500 });
    expect(() => loadConfig({ ...base, XT_API_IP_LIMIT: '0' })).toThrow(/XT_API_IP_LIMIT/);
    expect(() => loadConfig({ ...base, XT_API_QUEUE_WAIT: '1m' })).toThrow(/XT_API_QUEUE_WAIT/);
  });

  test('config: the shares of the XT.COM budget are fractions in (0, 1] that leave people something', () => {
    const base = { SESSION_SECRET: 'x'.repeat(40), XT_ENABLED: 'false' };
    expect(loadConfig(base).xtCalls).toMatchObject({ personShare: 0.1, serviceShare: 0.1 });
    expect(loadConfig({ ...base, XT_API_PERSON_SHARE: '0.05', XT_API_SERVICE_SHARE: '0.95' }).xtCalls).toMatchObject({
      personShare: 0.05,
      serviceShare: 0.95,
    });
    expect(loadConfig({ ...base, XT_API_PERSON_SHARE: '0.7', XT_API_SERVICE_SHARE: '0.3' }).xtCalls.personShare).toBe(
      0.7,
    ); // exactly 1 together
    for (const bad of ['0', '-0.1', '1.5', 'a tenth', '10%'])
      for (const name of ['XT_API_PERSON_SHARE', 'XT_API_SERVICE_SHARE'])
        expect(() => loadConfig({ ...base, [name]: bad })).toThrow(
          new RegExp(`${name}.*fraction above 0 and at most 1`),
        );
    expect(() => loadConfig({ ...base, XT_API_PERSON_SHARE: '0.6', XT_API_SERVICE_SHARE: '0.5' })).toThrow(
      /together at most 1/,
    );
    // 2 calls a minute with half kept for /v1 leaves 1 for people; 1 call a minute leaves none.
    expect(loadConfig({ ...base, XT_API_IP_LIMIT: '2', XT_API_SERVICE_SHARE: '0.5' }).xtCalls.serviceShare).toBe(0.5);
    expect(() => loadConfig({ ...base, XT_API_IP_LIMIT: '1', XT_API_SERVICE_SHARE: '0.1' })).toThrow(
      /XT_API_SERVICE_SHARE: keeps all 1 calls/,
    );
  });
});
