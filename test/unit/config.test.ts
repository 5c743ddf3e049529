import { ConfigError, loadConfig, parseDuration } from '../../src/config.js';

const good = { SESSION_SECRET: 'x'.repeat(32), XT_CLIENT_ID: 'id', XT_CLIENT_SECRET: 'secret' };

describe('loadConfig', () => {
  test('defaults', () => {
    const c = loadConfig(good);
    expect(c.port).toBe(3000);
    expect(c.publicUrl.origin).toBe('http://localhost:3000');
    expect(c.secureCookies).toBe(false);
    expect(c.sessionStore).toBe('sqlite');
    expect(c.sessionTtlMs).toBe(30 * 86_400_000);
    expect(c.xt).toMatchObject({ scope: 'userinfo', expiresInUnit: 's', tokenUrl: 'https://sapi.xt.com/public/uaa/oauth2/token', apiUrl: 'https://sapi.xt.com' });
    expect(c.trustProxy).toBe(false);
    expect(c.refresh.skewMs).toBe(60_000);
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
    for (const name of ['PORT', 'XT_EXPIRES_IN_UNIT', 'LOG_LEVEL', 'SESSION_SECRET', 'XT_CLIENT_ID']) expect(run).toThrow(name);
  });

  test('the demo mode needs no configuration', () => {
    const c = loadConfig({ XT_CONNECT_MODE: 'demo' });
    expect(c.demo).toBe(true);
    expect(c.xt?.clientId).toBe('demo-client');
  });

  test('an https PUBLIC_URL makes cookies Secure', () => {
    expect(loadConfig({ ...good, PUBLIC_URL: 'https://connect.example.com' }).secureCookies).toBe(true);
  });

  test('encryption keys must be 32 bytes of base64', () => {
    expect(() => loadConfig({ ...good, TOKEN_ENCRYPTION_KEYS: 'abc' })).toThrow(/TOKEN_ENCRYPTION_KEYS/);
    const k = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ ...good, TOKEN_ENCRYPTION_KEYS: `${k}, ${k}` }).tokenEncryptionKeys).toHaveLength(2);
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
    const run = () => loadConfig({ ...good, XT_TOKEN_URL: 'http://sapi.xt.com/public/uaa/oauth2/token', XT_API_URL: 'http://sapi.xt.com', XT_AUTHORIZE_URL: 'http://www.xt.com/{lang}/accounts/oauth2' });
    for (const name of ['XT_TOKEN_URL', 'XT_API_URL', 'XT_AUTHORIZE_URL']) expect(run).toThrow(name);
  });

  test('http on loopback (the stand-in) and https elsewhere are fine', () => {
    expect(loadConfig({ ...good, XT_TOKEN_URL: 'http://127.0.0.1:4000/public/uaa/oauth2/token', XT_API_URL: 'https://oapi.xt.com' }).xt?.tokenUrl).toBe('http://127.0.0.1:4000/public/uaa/oauth2/token');
    expect(() => loadConfig({ ...good, XT_TOKEN_URL: 'not a url' })).toThrow('XT_TOKEN_URL');
  });
});
