import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError, EXAMPLE_PLACEHOLDERS, loadConfig, parseDuration } from '../../src/config/index.js';

const good = { SESSION_SECRET: 'x'.repeat(32), XT_CLIENT_ID: 'id', XT_CLIENT_SECRET: 'secret' };

/** The problems loadConfig lists for `env` ([] when it loads). */
function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
}

describe('loadConfig', () => {
  test('defaults', () => {
    const c = loadConfig(good);
    expect(c.server.port).toBe(3000);
    expect(c.server.publicUrl.origin).toBe('http://localhost:3000');
    expect(c.server.secureCookies).toBe(false);
    expect(c.session.store).toBe('sqlite');
    expect(c.session.idleTtlMs).toBe(14 * 86_400_000);
    expect(c.session.maxAgeMs).toBe(90 * 86_400_000);
    expect(c.xt).toMatchObject({
      scope: 'userinfo',
      expiresInUnit: 's',
      tokenUrl: 'https://sapi.xt.com/public/uaa/oauth2/token',
      apiUrl: 'https://sapi.xt.com',
    });
    expect(c.server.trustProxy).toBe(false);
    expect(c.session.refresh.skewMs).toBe(60_000);
    expect(c.server.metrics).toBeUndefined();
    // The metrics listener is on loopback unless METRICS_HOST says otherwise (compose and k8s do).
    expect(loadConfig({ ...good, METRICS_PORT: '9091' }).server.metrics).toEqual({ port: 9091, host: '127.0.0.1' });
  });

  test('lists every problem at once', () => {
    let err: ConfigError | undefined;
    try {
      loadConfig({ SESSION_SECRET: 'short', PUBLIC_URL: 'https://x.example/path', SESSION_STORE: 'redis' });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = err!.message;
    expect(text).toContain('SESSION_SECRET');
    expect(text).toContain('PUBLIC_URL');
    expect(text).toContain('REDIS_URL');
    expect(text).toContain('XT_CLIENT_ID');
    expect(text).toContain('XT_CLIENT_SECRET');
    expect(err!.problems.length).toBeGreaterThanOrEqual(5);
  });

  test('zod-level problems are all reported too', () => {
    const run = () => loadConfig({ PORT: 'abc', XT_EXPIRES_IN_UNIT: 'h', LOG_LEVEL: 'loud' });
    for (const name of ['PORT', 'XT_EXPIRES_IN_UNIT', 'LOG_LEVEL', 'SESSION_SECRET', 'XT_CLIENT_ID'])
      expect(run).toThrow(name);
  });

  test('the demo mode needs no configuration', () => {
    const c = loadConfig({ XT_CONNECT_MODE: 'demo' });
    expect(c.xt?.clientId).toBe('demo-client');
  });

  test('an https PUBLIC_URL makes cookies Secure', () => {
    expect(loadConfig({ ...good, PUBLIC_URL: 'https://connect.example.com' }).server.secureCookies).toBe(true);
  });

  test('encryption keys must be 32 bytes of base64', () => {
    expect(() => loadConfig({ ...good, TOKEN_ENCRYPTION_KEYS: 'abc' })).toThrow(/TOKEN_ENCRYPTION_KEYS/);
    const k = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ ...good, TOKEN_ENCRYPTION_KEYS: `${k}, ${k}` }).session.tokenEncryptionKeys).toHaveLength(2);
  });

  test('durations', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(() => loadConfig({ ...good, SESSION_TTL: 'forever' })).toThrow(/SESSION_TTL/);
  });
});

describe('XT.COM endpoints', () => {
  test('plain http is refused off loopback: the client secret travels in the token URL', () => {
    const run = () =>
      loadConfig({
        ...good,
        XT_TOKEN_URL: 'http://sapi.xt.com/public/uaa/oauth2/token',
        XT_API_URL: 'http://sapi.xt.com',
        XT_AUTHORIZE_URL: 'http://www.xt.com/{lang}/accounts/oauth2',
      });
    for (const name of ['XT_TOKEN_URL', 'XT_API_URL', 'XT_AUTHORIZE_URL']) expect(run).toThrow(name);
  });

  test('http on loopback (the stand-in) and https elsewhere are fine', () => {
    expect(
      loadConfig({
        ...good,
        XT_TOKEN_URL: 'http://127.0.0.1:4000/public/uaa/oauth2/token',
        XT_API_URL: 'https://oapi.xt.com',
      }).xt?.tokenUrl,
    ).toBe('http://127.0.0.1:4000/public/uaa/oauth2/token');
    expect(() => loadConfig({ ...good, XT_TOKEN_URL: 'not a url' })).toThrow('XT_TOKEN_URL');
  });
});

describe('NODE_ENV=production refuses public secrets', () => {
  const exampleText = fs.readFileSync(path.resolve('.env.example'), 'utf8');
  const example = parseEnv(exampleText) as Record<string, string>;
  const filled = {
    ...example,
    SESSION_SECRET: 'a-real-session-secret-0123456789abcdefghijkl',
    XT_CLIENT_ID: 'xt-1234',
    XT_CLIENT_SECRET: 'a-real-xt-client-secret',
  };

  test('every placeholder the config refuses is the one .env.example ships with', () => {
    for (const [key, value] of Object.entries(EXAMPLE_PLACEHOLDERS))
      expect(exampleText).toMatch(new RegExp(`^(# )?${key}=${value}$`, 'm'));
  });

  test('.env.example as shipped: every placeholder is named, and the app does not start', () => {
    expect(example.NODE_ENV).toBe('production');
    const found = problems(example);
    for (const key of ['SESSION_SECRET', 'XT_CLIENT_ID', 'XT_CLIENT_SECRET']) {
      expect(found).toContainEqual(
        expect.stringMatching(new RegExp(`^${key}: still the placeholder from \\.env\\.example`)),
      );
    }
  });

  test('.env.example with its secrets filled in starts, and leaves DATA_DIR to the image', () => {
    expect(problems(filled)).toEqual([]);
    expect(example.DATA_DIR).toBeUndefined(); // the image's DATA_DIR=/data must stand under docker run --env-file
    // docker run --env-file: the file's values override the image's ENV (DATA_DIR=/data).
    expect(loadConfig({ DATA_DIR: '/data', ...filled }).server.dataDir).toBe('/data');
  });

  test('each placeholder on its own is refused, OIDC ones included', () => {
    const oidc = {
      OIDC_ISSUER: 'https://sample.portal.tencentciam.com',
      OIDC_CLIENT_ID: 'ciam-client',
      OIDC_CLIENT_SECRET: 'a-real-ciam-secret',
    };
    for (const [key, value] of Object.entries(EXAMPLE_PLACEHOLDERS)) {
      const found = problems({ ...filled, ...oidc, [key]: value });
      expect(found).toEqual([expect.stringMatching(new RegExp(`^${key}: still the placeholder`))]);
    }
  });

  test('outside production the placeholders are accepted (local trials)', () => {
    expect(problems({ ...example, NODE_ENV: 'development' })).toEqual([]);
    expect(problems({ ...example, NODE_ENV: 'test' })).toEqual([]);
  });

  test("the demo mode's built-in secrets are refused in production", () => {
    const demoSecret = loadConfig({ XT_CONNECT_MODE: 'demo' }).session.secret;
    const found = problems({ XT_CONNECT_MODE: 'demo', NODE_ENV: 'production' });
    expect(found).toContainEqual(
      expect.stringMatching(
        /^SESSION_SECRET: required with NODE_ENV=production \(the demo's built-in secret is public\)/,
      ),
    );
    expect(found).toContainEqual(
      expect.stringMatching(
        /^XT_CLIENT_SECRET: required with NODE_ENV=production \(the demo's built-in client secret is public\)/,
      ),
    );
    // Copied by hand it is just as public.
    expect(problems({ ...good, NODE_ENV: 'production', SESSION_SECRET: demoSecret })).toEqual([
      expect.stringMatching(/^SESSION_SECRET: .*built-in secret/),
    ]);
    // The demo mode with real secrets of its own is fine.
    expect(
      problems({
        XT_CONNECT_MODE: 'demo',
        NODE_ENV: 'production',
        SESSION_SECRET: 'y'.repeat(32),
        XT_CLIENT_SECRET: 'real',
      }),
    ).toEqual([]);
  });
});

describe('NODE_ENV unset: production unless PUBLIC_URL is plain http on loopback', () => {
  const example = parseEnv(fs.readFileSync(path.resolve('.env.example'), 'utf8')) as Record<string, string>;

  test.each(['https://connect.example.com', 'http://connect.internal:3000', 'http://10.0.0.5'])(
    "PUBLIC_URL=%s: .env.example's placeholders and the demo's secrets are refused",
    (url) => {
      const { NODE_ENV: _, ...unset } = example;
      const found = problems({ ...unset, PUBLIC_URL: url });
      for (const key of ['SESSION_SECRET', 'XT_CLIENT_ID', 'XT_CLIENT_SECRET']) {
        expect(found).toContainEqual(
          expect.stringMatching(new RegExp(`^${key}: still the placeholder .*in production \\(NODE_ENV is unset`)),
        );
      }
      expect(problems({ XT_CONNECT_MODE: 'demo', PUBLIC_URL: url })).toEqual([
        expect.stringMatching(/^XT_CLIENT_SECRET: required in production/),
        expect.stringMatching(/^SESSION_SECRET: required in production/),
      ]);
      expect(loadConfig({ ...good, PUBLIC_URL: url }).server.env).toBe('production');
    },
  );

  test('NODE_ENV=development set explicitly keeps the placeholders usable, whatever PUBLIC_URL is', () => {
    expect(problems({ ...example, NODE_ENV: 'development' })).toEqual([]);
    expect(
      loadConfig({ XT_CONNECT_MODE: 'demo', NODE_ENV: 'development', PUBLIC_URL: 'https://connect.example.com' }).server
        .env,
    ).toBe('development');
  });

  test.each(['http://localhost:3000', 'http://127.0.0.1:8080', 'http://[::1]:3000', undefined])(
    'PUBLIC_URL=%s (a local trial, the demo) is development',
    (url) => {
      expect(loadConfig({ XT_CONNECT_MODE: 'demo', PUBLIC_URL: url }).server.env).toBe('development');
    },
  );
});

test('a TRUST_PROXY list with an entry that is no address, subnet or range name is a problem at start, not a crash later', () => {
  const trustProblems = (v: string) => problems({ ...good, TRUST_PROXY: v });
  for (const v of [
    '10.0.0.0/8',
    '127.0.0.1',
    'loopback, uniquelocal',
    '::1,fd00::/8',
    '10.0.0.0/255.0.0.0',
    '1',
    'FALSE',
  ])
    expect(trustProblems(v)).toEqual([]);
  for (const v of ['tru', '10.0.0.0/8/1', 'nginx', '10.0.0.300'])
    expect(trustProblems(v)).toEqual([expect.stringMatching(/^TRUST_PROXY: ".*" is none of true, false, a hop count/)]);
});

describe('TRUST_PROXY=true', () => {
  const prod = { ...good, NODE_ENV: 'production', PUBLIC_URL: 'https://connect.example.com' };

  test('stops the app in production, asking for a hop count or the proxies’ addresses', () => {
    for (const env of [
      { ...prod, TRUST_PROXY: 'true' },
      { ...good, PUBLIC_URL: 'https://connect.example.com', TRUST_PROXY: 'yes' },
      { ...prod, TRUST_PROXY: 'TRUE' }, // any letter case, any spaces: still true
      { ...prod, TRUST_PROXY: ' True ' },
    ]) {
      expect(() => loadConfig(env)).toThrow(
        /TRUST_PROXY: true lets any client choose its IP.*number of proxies.*TRUST_PROXY=1.*addresses.*TRUST_PROXY_ALLOW_ANY=true/,
      );
    }
  });

  test('TRUST_PROXY_ALLOW_ANY=true keeps it on purpose, with a warning', () => {
    const c = loadConfig({ ...prod, TRUST_PROXY: 'true', TRUST_PROXY_ALLOW_ANY: 'true' });
    expect(c.server.trustProxy).toBe(true);
    expect(c.warnings.filter((w) => w.includes('TRUST_PROXY'))).toEqual([
      expect.stringMatching(/^TRUST_PROXY=true: any client can choose its IP/),
    ]);
  });

  test('a hop count or addresses are fine in production; outside it, true is a warning only', () => {
    expect(loadConfig({ ...prod, TRUST_PROXY: '1' }).server.trustProxy).toBe(1);
    expect(loadConfig({ ...prod, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).server.trustProxy).toBe(
      '10.0.0.0/8, 127.0.0.1',
    );
    expect(loadConfig({ ...good, TRUST_PROXY: 'true' }).warnings).toEqual([expect.stringMatching(/^TRUST_PROXY=true/)]);
  });
});
