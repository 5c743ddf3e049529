/** The OIDC_* settings. */
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { providerOrigins } from '../../src/providers/registry.js';

const base = { SESSION_SECRET: 'x'.repeat(32), XT_ENABLED: 'false' };
const ciam = {
  ...base,
  OIDC_ISSUER: 'https://sample.portal.tencentciam.com',
  OIDC_CLIENT_ID: 'ciam-client',
  OIDC_CLIENT_SECRET: 'ciam-secret',
};

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
      providerLogout: true,
      authParams: {},
      maxAgeSec: undefined,
      requiredAcr: undefined,
      userinfo: false,
      clockToleranceSec: 30,
    });
  });

  test('label, scope and token auth are taken as given', () => {
    const c = loadConfig({
      ...ciam,
      OIDC_LABEL: 'Tencent Cloud CIAM',
      OIDC_SCOPE: 'openid  offline_access',
      OIDC_TOKEN_AUTH: 'client_secret_post',
    });
    expect(c.oidc).toMatchObject({
      label: 'Tencent Cloud CIAM',
      scope: 'openid offline_access',
      tokenAuth: 'client_secret_post',
    });
  });

  test('no secret: a public client (PKCE only)', () => {
    const { OIDC_CLIENT_SECRET: _drop, ...pub } = ciam;
    const c = loadConfig(pub);
    expect(c.oidc?.clientSecret).toBeUndefined();
    expect(c.oidc?.tokenAuth).toBeUndefined();
  });

  test('empty values count as unset', () => {
    expect(loadConfig({ ...base, OIDC_ISSUER: '', OIDC_CLIENT_ID: '' }).oidc).toBeUndefined();
    expect(
      loadConfig({ ...ciam, OIDC_CLIENT_SECRET: '', OIDC_LOGOUT_URL: '', OIDC_TOKEN_AUTH: '' }).oidc,
    ).toMatchObject({
      clientSecret: undefined,
      logoutUrl: undefined,
      tokenAuth: undefined,
    });
  });

  test('plain http is accepted on loopback only', () => {
    expect(loadConfig({ ...ciam, OIDC_ISSUER: 'http://127.0.0.1:4001' }).oidc?.issuer).toBe('http://127.0.0.1:4001');
    expect(loadConfig({ ...ciam, OIDC_ISSUER: 'http://localhost:4001/tenant' }).oidc?.issuer).toBe(
      'http://localhost:4001/tenant',
    );
    expect(problems({ ...ciam, OIDC_ISSUER: 'http://sample.portal.tencentciam.com' })).toEqual([
      expect.stringMatching(/^OIDC_ISSUER: must use https/),
    ]);
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
    for (const name of [
      'SESSION_SECRET',
      'OIDC_ISSUER',
      'OIDC_CLIENT_ID',
      'OIDC_SCOPE',
      'OIDC_TOKEN_AUTH',
      'OIDC_LOGOUT_URL',
    ])
      expect(text).toContain(name);
    expect(text).toContain('OIDC_TOKEN_AUTH: must be client_secret_basic or client_secret_post');
    expect(text).toContain('OIDC_SCOPE: must include openid');
  });

  test('OIDC_TOKEN_AUTH without a secret is a contradiction', () => {
    const { OIDC_CLIENT_SECRET: _drop, ...pub } = ciam;
    expect(problems({ ...pub, OIDC_TOKEN_AUTH: 'client_secret_basic' })).toEqual([
      expect.stringMatching(/^OIDC_TOKEN_AUTH: needs OIDC_CLIENT_SECRET/),
    ]);
  });

  test('OIDC settings without OIDC_ISSUER are not silently ignored', () => {
    expect(problems({ ...base, OIDC_CLIENT_ID: 'x', OIDC_CLIENT_SECRET: 'y' })).toEqual([
      'OIDC_ISSUER: required when OIDC_CLIENT_ID is set',
      'OIDC_ISSUER: required when OIDC_CLIENT_SECRET is set',
    ]);
  });

  test('XT.COM and OIDC together, in the demo mode', () => {
    const c = loadConfig({
      XT_CONNECT_MODE: 'demo',
      OIDC_ISSUER: 'http://127.0.0.1:4001',
      OIDC_CLIENT_ID: 'ciam-web-app',
    });
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
    expect(providerOrigins(c)).toEqual([
      'https://www.xt.com',
      'https://sample.portal.tencentciam.com',
      'https://logout.tencentciam.example',
    ]);
  });
});

describe('logout and the options people ask for', () => {
  test('OIDC_AUTH_PARAMS: key=value&…, percent-decoded; max_age and acr_values read from it', () => {
    const c = loadConfig({
      ...ciam,
      OIDC_AUTH_PARAMS:
        'prompt=login&max_age=600&acr_values=urn:loa:2+urn:loa:3&login_hint=li.lei%40example.com&ui_locales=zh-TW%20en&',
      OIDC_REQUIRE_ACR: 'true',
      OIDC_USERINFO: 'true',
      OIDC_CLOCK_TOLERANCE: '2m',
      OIDC_PROVIDER_LOGOUT: 'false',
    });
    expect(c.oidc).toMatchObject({
      authParams: {
        prompt: 'login',
        max_age: '600',
        acr_values: 'urn:loa:2 urn:loa:3',
        login_hint: 'li.lei@example.com',
        ui_locales: 'zh-TW en',
      },
      maxAgeSec: 600,
      requiredAcr: ['urn:loa:2', 'urn:loa:3'],
      userinfo: true,
      clockToleranceSec: 120,
      providerLogout: false,
    });
  });

  test.each([
    'state',
    'nonce',
    'code_challenge',
    'code_challenge_method',
    'redirect_uri',
    'client_id',
    'response_type',
    'scope',
    'response_mode',
    'request_uri',
  ])('OIDC_AUTH_PARAMS may not set %s', (name) => {
    expect(problems({ ...ciam, OIDC_AUTH_PARAMS: `prompt=login&${name}=x` })).toEqual([
      `OIDC_AUTH_PARAMS: ${name} is set by xt-connect itself and cannot be given here`,
    ]);
  });

  test('every problem with the new settings is reported at once', () => {
    const list = problems({
      ...ciam,
      OIDC_AUTH_PARAMS: 'nonce=1&prompt=login&prompt=none&max_age=soon&=x&bad%zz=1&login_hint=',
      OIDC_REQUIRE_ACR: 'true',
      OIDC_USERINFO: 'maybe',
      OIDC_CLOCK_TOLERANCE: 'a while',
      OIDC_PROVIDER_LOGOUT: 'false',
      OIDC_LOGOUT_URL: 'https://sample.portal.tencentciam.com/logout',
    });
    expect(list).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^OIDC_USERINFO: /),
        expect.stringMatching(/^OIDC_CLOCK_TOLERANCE: .*must be a number with an optional unit/),
        'OIDC_AUTH_PARAMS: nonce is set by xt-connect itself and cannot be given here',
        'OIDC_AUTH_PARAMS: prompt is given twice',
        'OIDC_AUTH_PARAMS: max_age must be a whole number of seconds',
        'OIDC_AUTH_PARAMS: entry #5 must be key=value, the key of letters, digits and _ . -',
        'OIDC_AUTH_PARAMS: entry #6 is not valid percent-encoding',
        'OIDC_AUTH_PARAMS: the value of login_hint must be 1 to 1024 printable characters',
        'OIDC_REQUIRE_ACR: needs acr_values in OIDC_AUTH_PARAMS (the levels to require)',
        'OIDC_LOGOUT_URL: set, but OIDC_PROVIDER_LOGOUT=false keeps logout local; unset one of them',
      ]),
    );
    expect(list).toHaveLength(10);
  });

  test('OIDC_CLOCK_TOLERANCE is a duration of at most 10 minutes', () => {
    expect(loadConfig({ ...ciam, OIDC_CLOCK_TOLERANCE: '1500ms' }).oidc?.clockToleranceSec).toBe(2);
    expect(loadConfig({ ...ciam, OIDC_CLOCK_TOLERANCE: '0' }).oidc?.clockToleranceSec).toBe(0);
    expect(problems({ ...ciam, OIDC_CLOCK_TOLERANCE: '1h' })).toEqual(['OIDC_CLOCK_TOLERANCE: must be at most 10m']);
  });

  test('OIDC_AUTH_PARAMS without OIDC_ISSUER is not silently ignored', () => {
    expect(problems({ ...base, OIDC_AUTH_PARAMS: 'prompt=login' })).toEqual([
      'OIDC_ISSUER: required when OIDC_AUTH_PARAMS is set',
    ]);
  });
});
