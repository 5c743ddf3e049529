/**
 * RP-Initiated Logout 1.0, against the real oidc-provider (the stand-in with its
 * rpInitiatedLogout feature on, see helpers/oidc.ts): Disconnect forgets locally, then goes
 * through the provider's end_session_endpoint and comes back with `state`, checked (a forged one
 * changes nothing). Back-Channel Logout 1.0: oidc-logout-backchannel.test.ts.
 */
import { formToken } from '../helpers/harness.js';
import { type OidcHarness, connectOidc, endSessionAtOidcStandIn, startOidcHarness } from '../helpers/oidc.js';
import { connected, session } from '../helpers/oidcLogout.js';

let h: OidcHarness | undefined;

afterEach(async () => {
  await h?.close(); // scans the logs for secrets
  h = undefined;
});

const stateOf = (html: string) => /<main id="main"[^>]* data-state="([^"]*)"/.exec(html)?.[1];
const notices = (html: string) => [...html.matchAll(/data-notice="([^"]+)"/g)].map((m) => m[1]);

/** The form token from the account page, then the Disconnect form's POST. */
async function disconnect(hh: OidcHarness) {
  const token = formToken((await hh.agent.get('/account')).text);
  return hh.agent.post('/auth/oidc/logout').type('form').send({ _csrf: token });
}

describe('RP-initiated logout', () => {
  test('the round trip: local first, through end_session_endpoint, back with state; a forged state changes nothing', async () => {
    h = await startOidcHarness({ env: (oidc) => ({ OIDC_LOGOUT_URL: `${oidc.issuer}/logout` }) }); // end_session_endpoint wins over it
    await connectOidc(h.agent, { jar: h.opJar });
    const rec = await h.stored();
    await session(h);

    const out = await disconnect(h);
    expect(out.status).toBe(303);
    const to = new URL(out.headers.location!);
    expect(to.origin + to.pathname).toBe(`${h.oidc.issuer}/session/end`);
    const { state, ...rest } = Object.fromEntries(to.searchParams);
    expect(rest).toEqual({
      id_token_hint: rec!.idToken,
      client_id: h.client.clientId,
      post_logout_redirect_uri: 'http://127.0.0.1:3999/',
      ui_locales: 'en',
    });
    expect(state).toMatch(/^[\w-]{43}$/);
    // Local first: forgotten and revoked before the browser has gone anywhere.
    expect(h.oidc.calls.revocation).toBe(1);
    expect(await connected(h)).toBe(false);
    expect(h.oidc.calls.logout).toBe(0); // CIAM's own page is the fallback only

    // A forged state (and a repeated one) at `/`: nothing special, and the real one still works.
    for (const path of [
      '/?state=forged-state-value',
      `/?state=${to.searchParams.get('state')!.slice(1)}x`,
      '/?state=a&state=b',
    ]) {
      const forged = await h.agent.get(path);
      expect(forged.status).toBe(200);
      expect(stateOf(forged.text)).toBe('not-connected');
      expect(notices(forged.text)).toEqual([]);
    }

    // The provider's confirmation, "Yes, sign me out"; it sends its back-channel logout, then the browser back.
    const back = await endSessionAtOidcStandIn(to.toString(), h.opJar);
    expect(back.origin + back.pathname).toBe('http://127.0.0.1:3999/');
    expect(back.searchParams.get('state')).toBe(to.searchParams.get('state'));
    expect(h.oidc.calls.end_session).toBe(1);
    expect(h.oidc.backchannel.map((b) => b.status)).toEqual([200]); // its own logout token, accepted (nothing left to end)

    const home = await h.agent.get(back.pathname + back.search);
    expect(home.status).toBe(200);
    expect(stateOf(home.text)).toBe('disconnected');
    expect(notices(home.text)).toEqual(['disconnected']);
    expect(home.text).toContain('You’re also signed out at Tencent Cloud CIAM.');
    expect(home.text).toContain('also asked Tencent Cloud CIAM to withdraw the access');
    // Once only.
    const again = await h.agent.get(back.pathname + back.search);
    expect(stateOf(again.text)).toBe('not-connected');
    expect(notices(again.text)).toEqual([]);
    expect(h.logs.records().find((r) => r.msg === 'disconnected')).toMatchObject({ providerLogout: 'end_session' });
  });

  test('the page language goes along (ui_locales), and the provider speaks it', async () => {
    h = await startOidcHarness();
    await connectOidc(h.agent, { jar: h.opJar });
    const token = formToken((await h.agent.get('/account')).text);
    const out = await h.agent
      .post('/auth/oidc/logout')
      .set('Cookie', 'lang=zh-Hant')
      .type('form')
      .send({ _csrf: token });
    const to = new URL(out.headers.location!);
    expect(to.searchParams.get('ui_locales')).toBe('zh-TW');
    const page = await fetch(to, { headers: { cookie: [...h.opJar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    expect(await page.text()).toContain('要登出騰訊雲 CIAM 嗎？');
  });

  test('OIDC_PROVIDER_LOGOUT=false keeps it local: home at once, with the confirmation', async () => {
    h = await startOidcHarness({ env: { OIDC_PROVIDER_LOGOUT: 'false' } });
    await connectOidc(h.agent);
    const out = await disconnect(h);
    expect(out.headers.location).toBe('/');
    expect(h.oidc.calls.revocation).toBe(1);
    const home = await h.agent.get('/');
    expect(stateOf(home.text)).toBe('disconnected');
    expect(home.text).not.toContain('also signed out');
  });

  test('a provider without end_session_endpoint nor OIDC_LOGOUT_URL: home at once', async () => {
    h = await startOidcHarness({ standIn: { rpInitiatedLogout: false } });
    await connectOidc(h.agent);
    const out = await disconnect(h);
    expect(out.headers.location).toBe('/');
    expect(stateOf((await h.agent.get('/')).text)).toBe('disconnected');
  });
});
