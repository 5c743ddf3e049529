/** The OIDC_* settings. */
import { ConfigError, loadConfig } from '../../src/config.js';
import { providerOrigins } from '../../src/providers/registry.js';

const base = { SESSION_SECRET: 'x'.repeat(32), XT_ENABLED: 'false' };
const ciam = { ...base, OIDC_ISSUER: 'https://sample.portal.tencentciam.com', OIDC_CLIENT_ID: 'ciam-client', OIDC_CLIENT_SECRET: 'ciam-secret' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('OIDC settings', () => {
  test('no OIDC_ISSUER: no OIDC provider', () => {
    expect(loadConfig(base).oidc).toBeUndefined();
  });

  test('a Tencent Cloud CIAM configuration, with the defaults', () => {
    const c = loadConfig({ ...ciam, OIDC_LOGOUT_URL: 'https://sample.portal.tencentciam.com/logout' });
    expect(c.oidc).toEqual({
      id: 'oidc',
      label: 'OpenID Connect',
      issuer: 'https://sample.portal.tencentciam.com',
      clientId: 'ciam-client',
      clientSecret: 'ciam-secret',
      scope: 'openid',
      tokenAuth: undefined, // picked from discovery
      logoutUrl: 'https://sample.portal.tencentciam.com/logout',
    });
  });

  test('label, scope and token auth are taken as given', () => {
    const c = loadConfig({ ...ciam, OIDC_LABEL: 'Tencent Cloud CIAM', OIDC_SCOPE: 'openid  offline_access', OIDC_TOKEN_AUTH: 'client_secret_post' });
    expect(c.oidc).toMatchObject({ label: 'Tencent Cloud CIAM', scope: 'openid offline_access', tokenAuth: 'client_secret_post' });
  });

  test('no secret: a public client (PKCE only)', () => {
    const { OIDC_CLIENT_SECRET: _drop, ...pub } = ciam;
    const c = loadConfig(pub);
    expect(c.oidc?.clientSecret).toBeUndefined();
    expect(c.oidc?.tokenAuth).toBeUndefined();
  });

  test('empty values count as unset', () => {
    expect(loadConfig({ ...base, OIDC_ISSUER: '', OIDC_CLIENT_ID: '' }).oidc).toBeUndefined();
    expect(loadConfig({ ...ciam, OIDC_CLIENT_SECRET: '', OIDC_LOGOUT_URL: '', OIDC_TOKEN_AUTH: '' }).oidc).toMatchObject({
      clientSecret: undefined,
      logoutUrl: undefined,
      tokenAuth: undefined,
    });
  });

  test('plain http is accepted on loopback only', () => {
    expect(loadConfig({ ...ciam, OIDC_ISSUER: 'http://127.0.0.1:4001' }).oidc?.issuer).toBe('http://127.0.0.1:4001');
    expect(loadConfig({ ...ciam, OIDC_ISSUER: 'http://localhost:4001/tenant' }).oidc?.issuer).toBe('http://localhost:4001/tenant');
    expect(problems({ ...ciam, OIDC_ISSUER: 'http://sample.portal.tencentciam.com' })).toEqual([expect.stringMatching(/^OIDC_ISSUER: must use https/)]);
    expect(problems({ ...ciam, OIDC_LOGOUT_URL: 'http://sample.portal.tencentciam.com/logout' })).toEqual([
      expect.stringMatching(/^OIDC_LOGOUT_URL: must use https/),
    ]);
  });

  test.each([
    'not a url',
    'ftp://sample.portal.tencentciam.com',
    'https://sample.portal.tencentciam.com/?tenant=1',
    'https://user:pw@sample.portal.tencentciam.com',
  ])('OIDC_ISSUER %j is refused', (issuer) => {
    expect(problems({ ...ciam, OIDC_ISSUER: issuer })).toEqual([expect.stringMatching(/^OIDC_ISSUER: /)]);
  });

  test('every OIDC problem is reported at once, next to the others', () => {
    const list = problems({
      SESSION_SECRET: 'short',
      XT_ENABLED: 'false',
      OIDC_ISSUER: 'http://ciam.example',
      OIDC_SCOPE: 'profile email',
      OIDC_TOKEN_AUTH: 'private_key_jwt',
      OIDC_LOGOUT_URL: 'nope',
    });
    const text = list.join('\n');
    for (const name of ['SESSION_SECRET', 'OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_SCOPE', 'OIDC_TOKEN_AUTH', 'OIDC_LOGOUT_URL']) expect(text).toContain(name);
    expect(text).toContain('OIDC_TOKEN_AUTH: must be client_secret_basic or client_secret_post');
    expect(text).toContain('OIDC_SCOPE: must include openid');
  });

  test('OIDC_TOKEN_AUTH without a secret is a contradiction', () => {
    const { OIDC_CLIENT_SECRET: _drop, ...pub } = ciam;
    expect(problems({ ...pub, OIDC_TOKEN_AUTH: 'client_secret_basic' })).toEqual([expect.stringMatching(/^OIDC_TOKEN_AUTH: needs OIDC_CLIENT_SECRET/)]);
  });

  test('OIDC settings without OIDC_ISSUER are not silently ignored', () => {
    expect(problems({ ...base, OIDC_CLIENT_ID: 'x', OIDC_CLIENT_SECRET: 'y' })).toEqual([
      'OIDC_ISSUER: required when OIDC_CLIENT_ID is set',
      'OIDC_ISSUER: required when OIDC_CLIENT_SECRET is set',
    ]);
  });

  test('XT.COM and OIDC together, in the demo mode', () => {
    const c = loadConfig({ XT_CONNECT_MODE: 'demo', OIDC_ISSUER: 'http://127.0.0.1:4001', OIDC_CLIENT_ID: 'ciam-web-app' });
    expect(c.xt?.clientId).toBe('demo-client');
    expect(c.oidc?.clientId).toBe('ciam-web-app');
  });

  test('CSP form-action origins include the issuer and the logout page', () => {
    const c = loadConfig({
      ...ciam,
      XT_ENABLED: 'true',
      XT_CLIENT_ID: 'id',
      XT_CLIENT_SECRET: 's',
      OIDC_LOGOUT_URL: 'https://logout.tencentciam.example/logout',
    });
    expect(providerOrigins(c)).toEqual(['https://www.xt.com', 'https://sample.portal.tencentciam.com', 'https://logout.tencentciam.example']);
  });
});
