/** LINK_*, SERVICE_* and WEBHOOK_*: opt-in, and every bad value stops the app with a message that names it. */
import { ConfigError, type Env, loadConfig } from '../../src/config/index.js';
import { SERVICE_SCOPES } from '../../src/config/integration.js';
import { BASE_ENV } from '../helpers/harness.js';

const WHSEC = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const load = (extra: Env) => loadConfig({ ...BASE_ENV, XT_ENABLED: 'false', ...extra });
const problems = (extra: Env): string[] => {
  try {
    load(extra);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
};

test('with none of the settings, nothing is on', () => {
  const c = load({});
  expect(c.integration.link).toBeUndefined();
  expect(c.integration.service).toBeUndefined();
  expect(c.integration.webhooks).toBeUndefined();
});

test('valid settings are read', () => {
  const c = load({
    LINK_SECRET: 'l'.repeat(32),
    LINK_REQUIRED: 'true',
    SERVICE_API_KEYS: `a:${'k'.repeat(32)}`,
    WEBHOOK_URL: 'https://hooks.example/x',
    WEBHOOK_SECRET: WHSEC,
    WEBHOOK_MAX_AGE: '2d',
  });
  expect(c.integration.link).toEqual({ secret: 'l'.repeat(32), secrets: ['l'.repeat(32)], required: true });
  expect(c.integration.service?.keys).toEqual([{ name: 'a', key: 'k'.repeat(32), scopes: new Set(SERVICE_SCOPES) }]);
  expect(c.integration.service?.rateLimitPerSec).toBe(100);
  expect(c.integration.webhooks).toEqual({
    url: 'https://hooks.example/x',
    secret: WHSEC,
    secrets: [WHSEC],
    maxAgeMs: 2 * 86_400_000,
    logTtlMs: 7 * 86_400_000,
  });
});

test('WEBHOOK_SECRET takes a comma-separated list, newest first (a rotation)', () => {
  const next = `whsec_${Buffer.alloc(32, 8).toString('base64')}`;
  const c = load({ WEBHOOK_URL: 'https://hooks.example/x', WEBHOOK_SECRET: ` ${next} , ${WHSEC}` });
  expect(c.integration.webhooks?.secrets).toEqual([next, WHSEC]);
  expect(c.integration.webhooks?.secret).toBe(next);
  const bad = problems({ WEBHOOK_URL: 'https://hooks.example/x', WEBHOOK_SECRET: `${next},whsec_c2hvcnQ=` });
  expect(bad).toEqual([expect.stringMatching(/^WEBHOOK_SECRET \(entry #2\): must be whsec_/)]);
  expect(bad.join(' ')).not.toContain(next);
  expect(problems({ WEBHOOK_URL: 'https://hooks.example/x', WEBHOOK_SECRET: `${WHSEC},${WHSEC}` })).toEqual([
    'WEBHOOK_SECRET: the same secret is listed twice',
  ]);
});

test('every problem is listed at once, and no secret is echoed', () => {
  const p = problems({
    LINK_SECRET: 'short-link-secret',
    SERVICE_XT_API_ALLOW: 'GET /spot/v4/balances',
    WEBHOOK_URL: 'ftp://hooks.example',
    WEBHOOK_SECRET: 'not-a-whsec-secret',
    WEBHOOK_MAX_AGE: '10s',
  });
  expect(p).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^LINK_SECRET: must be at least 32/),
      expect.stringMatching(/^SERVICE_API_KEYS: required when SERVICE_XT_API_ALLOW/),
      expect.stringMatching(/^WEBHOOK_URL: must be an http\(s\) URL/),
      expect.stringMatching(/^WEBHOOK_SECRET: must be whsec_/),
      expect.stringMatching(/^WEBHOOK_MAX_AGE: must be between/),
    ]),
  );
  expect(p.join('\n')).not.toContain('short-link-secret');
  expect(p.join('\n')).not.toContain('not-a-whsec-secret');
});

test('LINK_REQUIRED needs LINK_SECRET; webhooks need both the URL and the secret', () => {
  expect(problems({ LINK_REQUIRED: 'true' })).toEqual([expect.stringMatching(/^LINK_REQUIRED: needs LINK_SECRET/)]);
  expect(problems({ WEBHOOK_URL: 'https://hooks.example/x' })).toEqual([
    expect.stringMatching(/^WEBHOOK_SECRET: required/),
  ]);
  expect(problems({ WEBHOOK_SECRET: WHSEC })).toEqual([expect.stringMatching(/^WEBHOOK_URL: required/)]);
  expect(problems({ WEBHOOK_URL: 'https://user:pw@hooks.example/x', WEBHOOK_SECRET: WHSEC })).toEqual([
    expect.stringMatching(/^WEBHOOK_URL/),
  ]);
  expect(problems({ WEBHOOK_URL: 'https://hooks.example/x', WEBHOOK_SECRET: 'whsec_c2hvcnQ=' })).toEqual([
    expect.stringMatching(/^WEBHOOK_SECRET/),
  ]);
});

test('service keys must be printable ASCII without spaces; a plain-http webhook off loopback is a warning', () => {
  expect(problems({ SERVICE_API_KEYS: `a:${'ä'.repeat(32)}` })).toEqual([
    expect.stringMatching(/printable ASCII only/),
  ]);
  expect(problems({ SERVICE_API_KEYS: `a:${'k'.repeat(20)} ${'k'.repeat(20)}` })).toEqual([
    expect.stringMatching(/printable ASCII only/),
  ]);
  expect(load({ WEBHOOK_URL: 'http://hooks.internal/x', WEBHOOK_SECRET: WHSEC }).warnings).toEqual([
    expect.stringMatching(/WEBHOOK_URL is plain http/),
  ]);
  expect(load({ WEBHOOK_URL: 'http://127.0.0.1:9/x', WEBHOOK_SECRET: WHSEC }).warnings).toEqual([]);
});

describe('scopes per service key (name:key:scope+scope)', () => {
  const KEY = 'k'.repeat(32);
  const keysOf = (list: string) => load({ SERVICE_API_KEYS: list }).integration.service!.keys;

  test('a last segment of known scopes limits the key to them; without one the key has every scope', () => {
    expect(keysOf(`a:${KEY}:read+xt.read,b:${KEY}2:api-key,c:${KEY}3`)).toEqual([
      { name: 'a', key: KEY, scopes: new Set(['read', 'xt.read']) },
      { name: 'b', key: `${KEY}2`, scopes: new Set(['api-key']) },
      { name: 'c', key: `${KEY}3`, scopes: new Set(SERVICE_SCOPES) },
    ]);
    expect(keysOf(`a:${KEY}:xt.write+disconnect+read+xt.read+api-key+webhooks+webhooks.replay`)[0]!.scopes).toEqual(
      new Set(SERVICE_SCOPES),
    );
    // A key that names its scopes gets only those: a scope added later (webhooks) is not among them.
    expect(keysOf(`a:${KEY}:xt.write+disconnect+read+xt.read+api-key`)[0]!.scopes.has('webhooks')).toBe(false);
    expect(keysOf(`c:${KEY}`)[0]!.scopes.has('webhooks')).toBe(true);
  });

  test('an unknown scope stops the start, listed with every other problem, naming the key and never echoing it', () => {
    const p = problems({
      SERVICE_API_KEYS: `a:${KEY}:raed,b:${KEY}2:read+xt.wirte+nope,c:short`,
      LINK_SECRET: 'short-link-secret',
    });
    expect(p).toEqual(
      expect.arrayContaining([
        'SERVICE_API_KEYS: key a: unknown scope raed; known: read, xt.read, xt.write, disconnect, api-key, webhooks, webhooks.replay',
        'SERVICE_API_KEYS: key b: unknown scope xt.wirte, nope; known: read, xt.read, xt.write, disconnect, api-key, webhooks, webhooks.replay',
        expect.stringMatching(/^SERVICE_API_KEYS: the key named "c" must be at least 32/),
        expect.stringMatching(/^LINK_SECRET: must be at least 32/),
      ]),
    );
    expect(p).toHaveLength(4);
    expect(p.join('\n')).not.toContain(KEY);
  });

  test('a key holds no ":": what follows one must be a scope list, else the start stops (never every scope)', () => {
    for (const tail of ['Read', 'read+', 'xt_read', 'r3ad', '', 'read+Xt', 'read:xt.read']) {
      expect(problems({ SERVICE_API_KEYS: `a:${KEY}:${tail}` })).toEqual([
        expect.stringMatching(/^SERVICE_API_KEYS: key a: (a key may not hold ":"|unknown scope)/),
      ]);
    }
  });

  test('the scopes are not counted in the key length', () => {
    expect(problems({ SERVICE_API_KEYS: `a:${'k'.repeat(28)}:read` })).toEqual([
      expect.stringMatching(/^SERVICE_API_KEYS: the key named "a" must be at least 32/),
    ]);
  });
});

describe('EMBED_ORIGINS', () => {
  test('empty by default: no page may embed the Connect button', () => {
    expect(load({}).integration.embedOrigins).toEqual([]);
  });

  test('exact https origins are read, trimmed, once each; http on loopback outside production', () => {
    const c = load({
      EMBED_ORIGINS:
        ' https://www.bank.example, https://app.bank.example:8443,http://127.0.0.1:5173,https://www.bank.example',
    });
    expect(c.integration.embedOrigins).toEqual([
      'https://www.bank.example',
      'https://app.bank.example:8443',
      'http://127.0.0.1:5173',
    ]);
  });

  test('a path, a trailing slash, a wildcard or plain http off loopback is refused, each named', () => {
    const p = problems({
      EMBED_ORIGINS: 'https://bank.example/connect,https://bank.example/,*,http://bank.example,null',
    });
    expect(p.filter((m) => m.startsWith('EMBED_ORIGINS:'))).toEqual([
      expect.stringContaining('"https://bank.example/connect" must be an origin only'),
      expect.stringContaining('"https://bank.example/" must be an origin only'),
      expect.stringContaining('"*" must be an origin only'),
      expect.stringContaining('"http://bank.example" must use https'),
      expect.stringContaining('"null" must be an origin only'),
    ]);
  });

  test('in production, plain http on loopback is refused too', () => {
    const p = problems({ NODE_ENV: 'production', EMBED_ORIGINS: 'http://127.0.0.1:5173' });
    expect(p).toContainEqual(expect.stringContaining('EMBED_ORIGINS: "http://127.0.0.1:5173" must use https'));
  });
});
