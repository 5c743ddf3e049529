/**
 * The OIDC options people ask for, against the real oidc-provider: OIDC_AUTH_PARAMS (with
 * max_age → auth_time and acr_values + OIDC_REQUIRE_ACR → acr), OIDC_USERINFO (merged claims,
 * a `sub` that must match), OIDC_CLOCK_TOLERANCE (and an `iat` in the future), and ui_locales
 * following the page language.
 */
import * as jose from 'jose';
import { errorCode, sessionJson } from '../helpers/harness.js';
import { type OidcHarness, connectOidc, startOidcHarness } from '../helpers/oidc.js';

let h: OidcHarness | undefined;

afterEach(async () => {
  await h?.close(); // scans the logs for secrets
  h = undefined;
});

const STALE_MS = 280_000;
const nowSec = () => Math.floor(Date.now() / 1000);
const failureLine = (hh: OidcHarness, code: string) =>
  hh.logs.records().find((r) => r.msg === 'request failed' && r.code === code);
const oidcView = async (hh: OidcHarness) => sessionJson(await hh.agent.get('/api/session')).providers.oidc;
const authorizeQuery = async (hh: OidcHarness, headers: Record<string, string> = {}) => {
  let req = hh.agent.get('/auth/oidc/login');
  for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
  const res = await req;
  expect(res.status).toBe(302);
  return Object.fromEntries(new URL(res.headers.location!).searchParams);
};

describe('OIDC_AUTH_PARAMS', () => {
  test('extra parameters go into the authorization request; ours stay ours', async () => {
    h = await startOidcHarness({
      env: { OIDC_AUTH_PARAMS: 'prompt=login&login_hint=li.lei%40example.com&acr_values=urn:xtc:loa:2 urn:xtc:loa:1' },
    });
    const q = await authorizeQuery(h);
    expect(q).toMatchObject({
      prompt: 'login',
      login_hint: 'li.lei@example.com',
      acr_values: 'urn:xtc:loa:2 urn:xtc:loa:1',
      response_type: 'code',
      code_challenge_method: 'S256',
      client_id: h.client.clientId,
    });
    expect((await connectOidc(h.agent)).status).toBe(303); // the provider takes them
  });

  test('ui_locales follows the page language (a Traditional reader gets zh-TW), unless OIDC_AUTH_PARAMS sets it', async () => {
    h = await startOidcHarness();
    expect((await authorizeQuery(h, { 'Accept-Language': 'zh-TW,zh;q=0.9' })).ui_locales).toBe('zh-TW');
    expect((await authorizeQuery(h, { Cookie: 'lang=zh-Hant', 'Accept-Language': 'en' })).ui_locales).toBe('zh-TW');
    expect((await authorizeQuery(h, { Cookie: 'lang=zh-CN' })).ui_locales).toBe('zh-CN');
    expect((await authorizeQuery(h, { 'Accept-Language': 'fr' })).ui_locales).toBe('en');
    expect((await authorizeQuery(h, { 'Accept-Language': 'fr,th;q=0.5' })).ui_locales).toBe('th'); // the page is Thai
    expect((await authorizeQuery(h, { Cookie: 'lang=hi', 'Accept-Language': 'ja' })).ui_locales).toBe('hi');
    await h.close();
    h = await startOidcHarness({ env: { OIDC_AUTH_PARAMS: 'ui_locales=ja' } });
    expect((await authorizeQuery(h, { Cookie: 'lang=zh-Hant' })).ui_locales).toBe('ja');
  });

  test('max_age: a fresh auth_time connects; an old one, or none, is refused', async () => {
    h = await startOidcHarness({ env: { OIDC_AUTH_PARAMS: 'max_age=300' } });
    expect((await authorizeQuery(h)).max_age).toBe('300');
    expect((await connectOidc(h.agent)).status).toBe(303);
    expect(jose.decodeJwt((await h.stored())!.idToken!).auth_time).toEqual(expect.any(Number));

    h.oidc.tamperNextIdToken({ auth_time: nowSec() - 3600 });
    const old = await connectOidc(h.agent);
    expect(old.status).toBe(502);
    expect(errorCode(old.text)).toBe('id_token_invalid');
    expect(failureLine(h, 'id_token_invalid')?.detail).toMatchObject({
      op: 'authorization_code',
      reason: 'authentication too old',
      claim: 'auth_time',
    });

    h.oidc.tamperNextIdToken((c) => ({ ...c, auth_time: undefined }));
    const none = await connectOidc(h.agent);
    expect(none.status).toBe(502);
    expect(errorCode(none.text)).toBe('id_token_invalid');
  });

  test('acr_values with OIDC_REQUIRE_ACR: the level asked for connects, another is refused', async () => {
    h = await startOidcHarness({ env: { OIDC_AUTH_PARAMS: 'acr_values=urn:xtc:loa:2', OIDC_REQUIRE_ACR: 'true' } });
    expect((await connectOidc(h.agent)).status).toBe(303);
    expect(jose.decodeJwt((await h.stored())!.idToken!).acr).toBe('urn:xtc:loa:2');

    h.oidc.tamperNextIdToken({ acr: 'urn:xtc:loa:1' });
    const low = await connectOidc(h.agent);
    expect(low.status).toBe(502);
    expect(errorCode(low.text)).toBe('id_token_invalid');
    expect(failureLine(h, 'id_token_invalid')?.detail).toMatchObject({ reason: 'acr not satisfied', claim: 'acr' });

    h.oidc.tamperNextIdToken((c) => ({ ...c, acr: undefined }));
    expect((await connectOidc(h.agent)).status).toBe(502);
  });

  test('acr_values without OIDC_REQUIRE_ACR: a hint only', async () => {
    h = await startOidcHarness({ env: { OIDC_AUTH_PARAMS: 'acr_values=urn:xtc:loa:2' } });
    h.oidc.tamperNextIdToken({ acr: 'urn:xtc:loa:1' });
    expect((await connectOidc(h.agent)).status).toBe(303);
  });
});

describe('OIDC_USERINFO', () => {
  test('after login and each refresh: its claims merged over the ID token’s', async () => {
    h = await startOidcHarness({ env: { OIDC_USERINFO: 'true' } });
    const { sub, name, email } = h.oidc.account;
    h.oidc.tamperNextIdToken((c) => ({ ...c, email: undefined, name: undefined })); // the ID token says who, userinfo says the rest
    h.oidc.tamperNextUserinfo({ name: 'Li Lei (from userinfo)' });
    expect((await connectOidc(h.agent)).status).toBe(303);
    expect(h.oidc.calls.userinfo).toBe(1);
    expect((await oidcView(h)).claims).toEqual({ sub, name: 'Li Lei (from userinfo)', email });

    h.oidc.tamperNextUserinfo({ name: 'Li Lei, renamed' });
    h.advance(STALE_MS);
    const view = await oidcView(h);
    expect(view.connected).toBe(true);
    expect(h.oidc.calls.refresh_token).toBe(1);
    expect(h.oidc.calls.userinfo).toBe(2);
    expect(view.claims).toEqual({ sub, name: 'Li Lei, renamed', email });
    expect(name).not.toBe('Li Lei, renamed');
  });

  test('off (the default): no userinfo call', async () => {
    h = await startOidcHarness();
    await connectOidc(h.agent);
    h.advance(STALE_MS);
    await oidcView(h);
    expect(h.oidc.calls.userinfo).toBe(0);
  });

  test('a userinfo `sub` that is not the ID token’s: the login is refused, nothing stored', async () => {
    h = await startOidcHarness({ env: { OIDC_USERINFO: 'true' } });
    h.oidc.tamperNextUserinfo({ sub: 'someone-else' });
    const res = await connectOidc(h.agent);
    expect(res.status).toBe(502);
    expect(errorCode(res.text)).toBe('id_token_invalid');
    expect(failureLine(h, 'id_token_invalid')?.detail).toMatchObject({
      op: 'authorization_code',
      reason: 'userinfo sub mismatch',
    });
    expect(await h.stored()).toBeNull();
    expect((await oidcView(h)).connected).toBe(false);
  });

  test('…and at a refresh it ends the connection', async () => {
    h = await startOidcHarness({ env: { OIDC_USERINFO: 'true' } });
    await connectOidc(h.agent);
    h.oidc.tamperNextUserinfo({ sub: 'someone-else' });
    h.advance(STALE_MS);
    expect(await oidcView(h)).toMatchObject({ connected: false, reason: 'refresh_rejected' });
  });

  test('a userinfo endpoint that fails costs nothing but its claims', async () => {
    h = await startOidcHarness({ env: { OIDC_USERINFO: 'true' } });
    h.oidc.failNext('userinfo', 'http500');
    expect((await connectOidc(h.agent)).status).toBe(303);
    expect((await oidcView(h)).claims).toEqual({
      sub: h.oidc.account.sub,
      name: h.oidc.account.name,
      email: h.oidc.account.email,
    });
    expect(
      h.logs
        .records()
        .find((r) => r.msg === 'the userinfo endpoint could not be read; the claims already known are shown'),
    ).toMatchObject({
      code: 'provider_unavailable',
    });
  });
});

describe('OIDC_CLOCK_TOLERANCE', () => {
  test('an ID token issued in the future beyond the tolerance is refused (openid-client does not check it)', async () => {
    h = await startOidcHarness();
    h.oidc.tamperNextIdToken({ iat: nowSec() + 120, exp: nowSec() + 3600 });
    const res = await connectOidc(h.agent);
    expect(res.status).toBe(502);
    expect(errorCode(res.text)).toBe('id_token_invalid');
    expect(failureLine(h, 'id_token_invalid')?.detail).toMatchObject({ reason: 'iat in the future', claim: 'iat' });
    h.oidc.tamperNextIdToken({ iat: nowSec() + 10 }); // within the default 30 s
    expect((await connectOidc(h.agent)).status).toBe(303);
  });

  test('a wider tolerance takes a drifted clock: iat ahead, and exp and nbf a little past', async () => {
    h = await startOidcHarness({ env: { OIDC_CLOCK_TOLERANCE: '5m' } });
    h.oidc.tamperNextIdToken({ iat: nowSec() + 120, nbf: nowSec() + 120, exp: nowSec() + 3600 });
    expect((await connectOidc(h.agent)).status).toBe(303);
    h.oidc.tamperNextIdToken({ iat: nowSec() - 3600, exp: nowSec() - 120 });
    expect((await connectOidc(h.agent)).status).toBe(303);
    h.oidc.tamperNextIdToken({ iat: nowSec() - 3600, exp: nowSec() - 600 });
    expect((await connectOidc(h.agent)).status).toBe(502);
  });
});
