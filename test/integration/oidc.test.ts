/**
 * The standard OAuth 2.0 / OpenID Connect dialect against the real oidc-provider,
 * configured as a stand-in for Tencent Cloud CIAM.
 */
import { jest } from '@jest/globals';
import type { JWTPayload } from 'jose';
import { OIDC_CLIENTS, startOidcStandIn } from '../../standins/oidc.js';
import { assertNoSecrets, errorCode, formToken, sessionJson } from '../helpers/harness.js';
import {
  type OidcHarness,
  authorizeAtOidcStandIn,
  connectOidc,
  startOidcHarness,
  tokenRequest,
} from '../helpers/oidc.js';
import { freePort } from '../helpers/ports.js';

let h: OidcHarness | undefined;

afterEach(async () => {
  jest.restoreAllMocks();
  await h?.close(); // scans the logs for secrets
  h = undefined;
});

/** The form token from the account page (for POST /auth/oidc/logout). */
const accountFormToken = async (hh: OidcHarness) => formToken((await hh.agent.get('/account')).text);

/** The access token lives 299 s at the stand-in (CIAM's sample); this moves the app past its refresh margin. */
const STALE_MS = 280_000;

const failureLine = (hh: OidcHarness, code: string) =>
  hh.logs.records().find((r) => r.msg === 'request failed' && r.code === code);

describe('connect', () => {
  test('the login redirect carries state, nonce, PKCE S256, scope and redirect_uri, and no secret', async () => {
    h = await startOidcHarness();
    const res = await h.agent.get('/auth/oidc/login').set('Accept-Language', 'zh-CN,zh;q=0.9');
    expect(res.status).toBe(302);
    const url = new URL(res.headers.location!);
    expect(url.origin + url.pathname).toBe(`${h.oidc.issuer}/oauth2/authorize`);
    const q = Object.fromEntries(url.searchParams);
    expect(q).toMatchObject({
      response_type: 'code',
      client_id: OIDC_CLIENTS.basic.clientId,
      redirect_uri: 'http://127.0.0.1:3999/auth/oidc/callback',
      scope: 'openid',
      code_challenge_method: 'S256',
      ui_locales: 'zh-CN',
    });
    expect(q.code_challenge).toMatch(/^[\w-]{43}$/);
    expect(Buffer.from(q.state!, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(q.nonce!.length).toBeGreaterThanOrEqual(22);
    expect(q.client_secret).toBeUndefined();
    expect(res.text).not.toContain(OIDC_CLIENTS.basic.clientSecret);
  });

  test('a full connection next to XT.COM: callback, /api/session with the display claims, no token anywhere', async () => {
    h = await startOidcHarness({ withXt: true });
    const home = await h.agent.get('/');
    expect(home.status).toBe(200);
    const xtAt = home.text.indexOf('href="/auth/xt/login"');
    const oidcAt = home.text.indexOf('href="/auth/oidc/login"');
    expect(xtAt).toBeGreaterThan(0);
    expect(oidcAt).toBeGreaterThan(xtAt); // XT.COM first, then the OIDC provider
    expect(home.text).toContain('Connect Tencent Cloud CIAM');

    const cb = await connectOidc(h.agent);
    expect(cb.status).toBe(303);
    expect(cb.headers.location).toBe('/account');
    expect(h.oidc.calls.authorization_code).toBe(1);

    const api = await h.agent.get('/api/session');
    expect(api.status).toBe(200);
    const { sub, name, email } = h.oidc.account;
    expect(sessionJson(api).providers.oidc).toMatchObject({
      connected: true,
      userId: sub,
      scope: 'openid',
      claims: { sub, name, email },
    });
    expect(Object.keys(sessionJson(api).providers.oidc.claims ?? {}).sort()).toEqual(['email', 'name', 'sub']);
    expect(sessionJson(api).providers.xt.connected).toBe(false);
    expect(Date.parse(sessionJson(api).providers.oidc.accessTokenExpiresAt ?? '')).toBeGreaterThan(
      Date.now() + 250_000,
    );

    const account = await h.agent.get('/account');
    expect(account.text).toContain(name);
    expect(account.text).toContain(email);
    for (const text of [api.text, account.text, home.text, cb.text]) assertNoSecrets(text, h.secrets());
    expect(h.oidc.issued().length).toBeGreaterThanOrEqual(4); // code, access, refresh and ID token were all checked for
  });

  test('client_secret_post when OIDC_TOKEN_AUTH says so', async () => {
    h = await startOidcHarness({ client: 'post', env: { OIDC_TOKEN_AUTH: 'client_secret_post' } });
    const cb = await connectOidc(h.agent);
    expect(cb.status).toBe(303);
    expect(sessionJson(await h.agent.get('/api/session')).providers.oidc.connected).toBe(true);
  });

  test('a public client: no secret, PKCE only, and it still gets (rotating) refresh tokens', async () => {
    h = await startOidcHarness({ client: 'public' });
    expect(h.config.oidc?.clientSecret).toBeUndefined();
    const cb = await connectOidc(h.agent);
    expect(cb.status).toBe(303);
    expect(sessionJson(await h.agent.get('/api/session')).providers.oidc.connected).toBe(true);
    h.advance(STALE_MS);
    expect(sessionJson(await h.agent.get('/api/session')).providers.oidc.connected).toBe(true);
    expect(h.oidc.calls.refresh_token).toBe(1);
  });

  test('denial at the provider: a neutral page (200) and no token call', async () => {
    h = await startOidcHarness();
    const res = await connectOidc(h.agent, { decision: 'deny' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('data-state="declined"');
    expect(errorCode(res.text)).toBeUndefined();
    expect(res.text).toContain('Tencent Cloud CIAM'); // the page names the provider
    expect(h.oidc.calls.token).toBe(0);
  });

  test('a wrong client secret is reported as a misconfiguration, not as the person\u2019s fault', async () => {
    h = await startOidcHarness({ env: { OIDC_CLIENT_SECRET: 'not-the-secret-0123456789' } });
    const res = await connectOidc(h.agent);
    expect(res.status).toBe(502);
    expect(errorCode(res.text)).toBe('provider_misconfigured');
    expect(failureLine(h, 'provider_misconfigured')?.detail).toMatchObject({
      op: 'authorization_code',
      error: 'invalid_client',
      httpStatus: 401,
    });
    assertNoSecrets(h.logs.text(), ['not-the-secret-0123456789']);
  });
});

describe('token endpoint failures during the exchange', () => {
  test.each([
    ['invalid_grant', 'provider_rejected', 502],
    ['invalid_client', 'provider_misconfigured', 502],
    ['http500', 'provider_unavailable', 502],
    ['html502', 'provider_unavailable', 502],
    ['not_json', 'provider_bad_response', 502],
    ['timeout', 'provider_timeout', 504],
  ] as const)('%s → %s, a way forward, nothing stored', async (kind, code, status) => {
    h = await startOidcHarness({ standIn: { hangMs: 4000 }, env: { PROVIDER_TIMEOUT: '500ms' } }); // the hung call is given up at 500 ms
    h.oidc.failNext('token', kind);
    const res = await connectOidc(h.agent);
    expect(res.status).toBe(status);
    expect(errorCode(res.text)).toBe(code);
    expect(res.text).toContain('href="/auth/oidc/login"');
    expect(res.text).not.toMatch(/at \w+ \(|node_modules/);
    expect(h.oidc.calls.token).toBe(1); // a code is exchanged once, never retried
    expect(sessionJson(await h.agent.get('/api/session')).providers.oidc.connected).toBe(false);
    const line = failureLine(h, code);
    expect(line).toBeDefined();
    expect(JSON.stringify(line)).not.toMatch(/Basic |client_secret=|eyJ/);
  });
});

describe('ID token verification', () => {
  const past = () => Math.floor(Date.now() / 1000) - 600;
  test.each([
    ['a bad signature', 'bad_signature' as const, 'bad signature'],
    ['the wrong audience', { aud: 'someone-else' }, 'claim mismatch'],
    ['the wrong nonce', { nonce: 'not-the-nonce-we-sent' }, 'claim mismatch'],
    ['an expired token', { iat: past() - 3600, exp: past() }, 'expired or not yet valid'],
    ['another issuer', { iss: 'https://evil.example' }, 'claim mismatch'],
    ['an azp naming another client', { azp: 'ciam-other-app' }, 'claim mismatch'],
    [
      'an extra audience without azp',
      (c: JWTPayload) => ({ ...c, aud: [String(c.aud), 'ciam-other-app'] }),
      'claim mismatch',
    ],
    ['no nonce at all', (c: JWTPayload) => ({ ...c, nonce: undefined }), 'missing or mistyped claim'],
  ])('%s is refused: id_token_invalid page, nothing stored', async (_name, change, reason) => {
    h = await startOidcHarness();
    h.oidc.tamperNextIdToken(change);
    const res = await connectOidc(h.agent);
    expect(res.status).toBe(502);
    expect(errorCode(res.text)).toBe('id_token_invalid');
    expect(res.text).toContain('href="/auth/oidc/login"');
    const api = await h.agent.get('/api/session');
    expect(sessionJson(api).providers.oidc.connected).toBe(false);
    expect(await h.stored()).toBeNull();
    expect(failureLine(h, 'id_token_invalid')?.detail).toMatchObject({ op: 'authorization_code', reason });
  });

  test('a key rotated after discovery: the unknown kid makes the JWKS be fetched again, and the login succeeds', async () => {
    h = await startOidcHarness();
    expect(h.oidc.calls.jwks).toBe(1); // fetched right after discovery
    await h.oidc.rotateKeys();
    // openid-client re-fetches a JWKS for an unknown kid only when its copy is a minute old (so a
    // stream of forged kids cannot hammer the provider). Move every clock in the process on.
    const realNow = Date.now.bind(Date);
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 61_000);
    const cb = await connectOidc(h.agent);
    expect(cb.status).toBe(303);
    expect(h.oidc.calls.jwks).toBe(2);
    expect(sessionJson(await h.agent.get('/api/session')).providers.oidc.connected).toBe(true);
  });

  test('an unknown kid within a minute of the last JWKS fetch is refused without fetching it again', async () => {
    h = await startOidcHarness();
    await h.oidc.rotateKeys();
    const res = await connectOidc(h.agent);
    expect(res.status).toBe(502);
    expect(errorCode(res.text)).toBe('id_token_invalid');
    expect(h.oidc.calls.jwks).toBe(1);
    expect(failureLine(h, 'id_token_invalid')?.detail).toMatchObject({ reason: 'no matching signing key' });
  });
});

describe('refresh', () => {
  test('rotation: the rotated refresh token is stored and used, the old one is dead at the provider', async () => {
    h = await startOidcHarness();
    await connectOidc(h.agent);
    const first = h.oidc.refreshTokensIssued[0]!;
    expect((await h.stored())?.refreshToken).toBe(first);

    h.advance(STALE_MS);
    const api = await h.agent.get('/api/session');
    expect(sessionJson(api).providers.oidc).toMatchObject({ connected: true, userId: h.oidc.account.sub });
    expect(sessionJson(api).providers.oidc.lastRefreshedAt).not.toBeNull();
    expect(h.oidc.calls.refresh_token).toBe(1);
    const second = h.oidc.refreshTokensIssued[1]!;
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    const rec = await h.stored();
    expect(rec?.refreshToken).toBe(second);
    expect(rec?.claims).toMatchObject({ sub: h.oidc.account.sub, name: h.oidc.account.name }); // from the refreshed, verified ID token

    h.advance(STALE_MS);
    expect(sessionJson(await h.agent.get('/api/session')).providers.oidc.connected).toBe(true);
    expect(h.oidc.refreshTokensPresented).toEqual([first, second]);

    const replay = await tokenRequest(h.oidc, h.client, { grant_type: 'refresh_token', refresh_token: first });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
  });

  test('invalid_grant at refresh ends the connection: reconnect, reason refresh_rejected', async () => {
    h = await startOidcHarness();
    await connectOidc(h.agent);
    await h.oidc.forgetRefreshToken(h.oidc.refreshTokensIssued[0]!); // revoked in the CIAM console, say
    h.advance(STALE_MS);
    const api = await h.agent.get('/api/session');
    expect(sessionJson(api).providers.oidc).toMatchObject({ connected: false, reason: 'refresh_rejected' });
    const home = await h.agent.get('/');
    expect(home.text).toContain('action="/auth/oidc/reconnect"'); // renews the connection in place
    expect(
      h.logs.records().find((r) => r.msg === 'refresh rejected by the provider; connection ended')?.detail,
    ).toMatchObject({
      error: 'invalid_grant',
      httpStatus: 400,
    });
  });

  test('a refreshed ID token naming another subject ends the connection (OIDC Core 12.2)', async () => {
    h = await startOidcHarness();
    await connectOidc(h.agent);
    h.oidc.tamperNextIdToken({ sub: 'someone-else' });
    h.advance(STALE_MS);
    const api = await h.agent.get('/api/session');
    expect(sessionJson(api).providers.oidc).toMatchObject({ connected: false, reason: 'refresh_rejected' });
    expect(h.oidc.calls.refresh_token).toBe(1);
  });

  test.each(['http500', 'html502', 'not_json', 'timeout', 'invalid_client'] as const)(
    'a transient %s at refresh keeps the connection and its refresh token',
    async (kind) => {
      h = await startOidcHarness({ standIn: { hangMs: 4000 }, env: { PROVIDER_TIMEOUT: '500ms' } }); // the hung call is given up at 500 ms
      await connectOidc(h.agent);
      const first = h.oidc.refreshTokensIssued[0]!;
      h.oidc.failNext('token', kind);
      h.advance(STALE_MS); // stale, not yet expired: the current token stays in use
      const api = await h.agent.get('/api/session');
      expect(sessionJson(api).providers.oidc.connected).toBe(true);
      const rec = await h.stored();
      expect(rec).toMatchObject({ status: 'active', refreshToken: first, refreshFailures: 1 });
    },
  );
});

describe('disconnect', () => {
  test('revokes the refresh token at the provider and goes through CIAM\u2019s logout page', async () => {
    // CIAM has no end_session_endpoint: its own logout page (OIDC_LOGOUT_URL) is the fallback.
    h = await startOidcHarness({
      env: (oidc) => ({ OIDC_LOGOUT_URL: `${oidc.issuer}/logout` }),
      standIn: { rpInitiatedLogout: false },
    });
    await connectOidc(h.agent);
    const refreshToken = h.oidc.refreshTokensIssued[0]!;
    const out = await h.agent
      .post('/auth/oidc/logout')
      .type('form')
      .send({ _csrf: await accountFormToken(h) });
    expect(out.status).toBe(303);
    const logout = new URL(out.headers.location!);
    expect(logout.origin + logout.pathname).toBe(`${h.oidc.issuer}/logout`);
    expect(logout.searchParams.get('client_id')).toBe(h.client.clientId);
    expect(logout.searchParams.get('logout_redirect_uri')).toBe('http://127.0.0.1:3999/');
    expect(logout.searchParams.get('state')).toMatch(/^[\w-]{16,}$/);

    expect(h.oidc.calls.revocation).toBe(1);
    const after = await tokenRequest(h.oidc, h.client, { grant_type: 'refresh_token', refresh_token: refreshToken });
    expect(after.body.error).toBe('invalid_grant');
    expect(sessionJson(await h.agent.get('/api/session')).providers.oidc).toMatchObject({
      connected: false,
      reason: 'not_connected',
    });

    const back = await fetch(logout, { redirect: 'manual' });
    expect(back.status).toBe(302);
    expect(new URL(back.headers.get('location')!).origin + new URL(back.headers.get('location')!).pathname).toBe(
      'http://127.0.0.1:3999/',
    );
    expect(h.oidc.calls.logout).toBe(1);

    const csp = (await h.agent.get('/')).headers['content-security-policy']!;
    expect(csp).toContain(h.oidc.issuer); // form-action allows the redirect to the logout page
  });

  test('a failing revocation endpoint still disconnects locally', async () => {
    h = await startOidcHarness({ env: { OIDC_PROVIDER_LOGOUT: 'false' } });
    await connectOidc(h.agent);
    h.oidc.failNext('revocation', 'http500');
    const out = await h.agent
      .post('/auth/oidc/logout')
      .type('form')
      .send({ _csrf: await accountFormToken(h) });
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('/'); // OIDC_PROVIDER_LOGOUT=false: straight home
    expect(h.oidc.calls.revocation).toBe(1);
    expect(sessionJson(await h.agent.get('/api/session')).providers.oidc.connected).toBe(false);
    const warn = h.logs
      .records()
      .find((r) => r.msg === 'revocation at the provider failed; the local disconnect stands');
    expect(warn).toBeDefined();
  });
});

describe('discovery', () => {
  test('the issuer is down at start: the app stays up, says so, and recovers once the issuer is back', async () => {
    const port = await freePort(); // nobody listens there yet
    h = await startOidcHarness({ issuer: `http://127.0.0.1:${port}` });
    expect(h.provider.checkAvailability()).toBe(false);
    expect(h.logs.text()).toContain('OIDC discovery failed');

    const home = await h.agent.get('/');
    expect(home.status).toBe(200);
    expect(home.text).toContain('Tencent Cloud CIAM is unavailable right now');
    expect(home.text).not.toContain('href="/auth/oidc/login"');

    const login = await h.agent.get('/auth/oidc/login');
    expect(login.status).toBe(503);
    expect(login.headers['retry-after']).toBeDefined();
    expect(errorCode(login.text)).toBe('provider_down');
    expect(login.text).toContain('Tencent Cloud CIAM'); // the page names the provider

    // The issuer comes up on that port. The next looks at the provider retry discovery.
    const late = await startOidcStandIn({ port });
    try {
      let status = 0;
      for (let i = 0; i < 40 && status !== 302; i++) {
        const res = await h.agent.get('/auth/oidc/login');
        status = res.status;
        if (status === 302) {
          const cb = await h.agent.get(await authorizeAtOidcStandIn(res.headers.location!));
          expect(cb.status).toBe(303);
        } else await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(302);
      expect(sessionJson(await h.agent.get('/api/session')).providers.oidc.connected).toBe(true);
      expect(h.logs.text()).toContain('OIDC discovery succeeded');
    } finally {
      await late.close();
    }
  });

  test('metadata naming another issuer is refused (and logged as a misconfiguration)', async () => {
    h = await startOidcHarness({ issuer: (oidc) => oidc.issuer.replace('127.0.0.1', 'localhost') });
    expect(h.provider.checkAvailability()).toBe(false);
    const line = h.logs
      .records()
      .find((r) => r.msg === 'OIDC discovery failed; the provider is unavailable until it succeeds');
    expect(line).toMatchObject({ code: 'provider_misconfigured' });
  });
});
