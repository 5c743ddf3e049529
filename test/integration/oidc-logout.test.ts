/**
 * Standard logout, both ways, against the real oidc-provider (the stand-in with its
 * rpInitiatedLogout and backchannelLogout features on, see helpers/oidc.ts):
 *  - RP-Initiated Logout 1.0: Disconnect forgets locally, then goes through the provider's
 *    end_session_endpoint and comes back with `state`, checked (a forged one changes nothing);
 *  - Back-Channel Logout 1.0: POST /auth/oidc/backchannel-logout, every check of the logout
 *    token, the connection it names ended (on the other replica too), the webhook's reason.
 */
import * as jose from 'jose';
import { createClient } from 'redis';
import request from 'supertest';
import { type BuiltApp, createApp } from '../../src/app.js';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/providers/oidc/logout.js';
import { LogCapture, formToken, scanLogs, sessionJson, sidCookie } from '../helpers/harness.js';
import {
  type OidcHarness,
  connectOidc,
  endSessionAtOidcStandIn,
  logoutToken,
  startOidcHarness,
} from '../helpers/oidc.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { type WebhookReceiver, startReceiver } from '../helpers/webhookReceiver.js';

let h: OidcHarness | undefined;
let receiver: WebhookReceiver | undefined;

afterEach(async () => {
  await h?.close(); // scans the logs for secrets
  h = undefined;
  await receiver?.close();
  receiver = undefined;
});

const stateOf = (html: string) => /<main id="main"[^>]* data-state="([^"]*)"/.exec(html)?.[1];
const notices = (html: string) => [...html.matchAll(/data-notice="([^"]+)"/g)].map((m) => m[1]);
const auditLines = (hh: OidcHarness, event: string) =>
  hh.logs.records().filter((r) => r.audit === true && r.event === event);
const connected = async (hh: OidcHarness, agent = hh.agent) =>
  sessionJson(await agent.get('/api/session')).providers.oidc.connected;

/** The form token from the account page, then the Disconnect form's POST. */
async function disconnect(hh: OidcHarness) {
  const token = formToken((await hh.agent.get('/account')).text);
  return hh.agent.post('/auth/oidc/logout').type('form').send({ _csrf: token });
}

/** The ID token's sid and sub of the last login, as the stand-in issued it. */
async function session(hh: OidcHarness): Promise<{ sid: string; sub: string }> {
  const rec = await hh.stored();
  const claims = jose.decodeJwt(rec!.idToken!);
  expect(typeof claims.sid).toBe('string');
  expect(rec!.sid).toBe(claims.sid);
  return { sid: String(claims.sid), sub: String(claims.sub) };
}

const postLogout = (app: BuiltApp['app'], token: string | undefined) =>
  request(app)
    .post('/auth/oidc/backchannel-logout')
    .type('form')
    .send(token === undefined ? {} : { logout_token: token });

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

describe('back-channel logout', () => {
  test('a valid token ends the connection it names: 200, no-store; the webhook says provider_logout; audit lines', async () => {
    receiver = await startReceiver();
    h = await startOidcHarness({
      env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret },
      app: { webhookTiming: { firstRetryMs: 50, pollMs: 50 } },
    });
    await connectOidc(h.agent);
    const { sid, sub } = await session(h);
    expect(await connected(h)).toBe(true);

    const res = await postLogout(h.built.app, await logoutToken(h, { sid, sub }));
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['set-cookie']).toBeUndefined(); // no session here
    expect(await connected(h)).toBe(false);
    expect(await h.stored()).toBeNull();
    expect(h.oidc.calls.revocation).toBe(0); // the provider ended it: nothing to revoke

    await receiver.waitFor(() => receiver!.accepted.length >= 2, 5000, 'two events');
    expect(receiver.accepted.map((a) => [a.body.type, a.body.data.reason, a.body.data.userId])).toEqual([
      ['connection.created', null, sub],
      ['connection.ended', 'provider_logout', sub],
    ]);
    expect(auditLines(h, 'disconnected').map((l) => l.reason)).toEqual(['provider_logout']);
    expect(auditLines(h, 'logout_token_accepted').map((l) => l.reason)).toEqual(['sid+sub']);
  });

  test('by sid: only that provider session; by sub alone: every connection of that user', async () => {
    h = await startOidcHarness();
    const other = request.agent(h.built.app);
    await connectOidc(h.agent, { jar: h.opJar });
    const first = await session(h);
    await connectOidc(other, { jar: new Map() }); // another browser: another session at the provider
    const second = await session(h);
    expect(second.sid).not.toBe(first.sid);
    expect(second.sub).toBe(first.sub);

    expect((await postLogout(h.built.app, await logoutToken(h, { sid: second.sid }))).status).toBe(200);
    expect(await connected(h, other)).toBe(false);
    expect(await connected(h)).toBe(true);

    await connectOidc(other, { jar: new Map() });
    expect((await postLogout(h.built.app, await logoutToken(h, { sub: first.sub }))).status).toBe(200);
    expect(await connected(h)).toBe(false);
    expect(await connected(h, other)).toBe(false);
  });

  test('the provider’s own logout token, sent when the person signs out there', async () => {
    h = await startOidcHarness();
    await connectOidc(h.agent, { jar: h.opJar });
    expect(await connected(h)).toBe(true);
    // Signed out at the provider (from another application, say): its end_session, no return address.
    const end = new URL(`${h.oidc.issuer}/session/end`);
    end.searchParams.set('client_id', h.client.clientId);
    await endSessionAtOidcStandIn(end.toString(), h.opJar);
    expect(h.oidc.backchannel.map((b) => b.status)).toEqual([200]);
    const claims = jose.decodeJwt(h.oidc.backchannel[0]!.token);
    expect(typeof claims.sid).toBe('string');
    expect(claims).toMatchObject({ sub: h.oidc.account.sub, events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } });
    expect(await connected(h)).toBe(false);
  });

  test('an unknown sid (or sub): 200, and nothing changes', async () => {
    h = await startOidcHarness();
    await connectOidc(h.agent);
    for (const claims of [{ sid: 'not-a-session-we-know' }, { sub: 'someone-else' }]) {
      const res = await postLogout(h.built.app, await logoutToken(h, claims));
      expect(res.status).toBe(200);
      expect(await connected(h)).toBe(true);
    }
    expect(auditLines(h, 'disconnected')).toEqual([]);
  });

  test('a replayed jti is refused, and the jti is spent only once', async () => {
    h = await startOidcHarness();
    await connectOidc(h.agent, { jar: h.opJar });
    const { sid } = await session(h);
    const token = await logoutToken(h, { sid });
    expect((await postLogout(h.built.app, token)).status).toBe(200);
    const replay = await postLogout(h.built.app, token);
    expect(replay.status).toBe(400);
    expect(replay.body).toEqual({
      error: 'invalid_request',
      error_description: 'logout_token refused: jti already used',
    });
    // A new login with the same jti again: still refused, and the new connection stays.
    await connectOidc(h.agent, { jar: h.opJar });
    expect((await postLogout(h.built.app, token)).status).toBe(400);
    expect(await connected(h)).toBe(true);
  });

  describe('each bad token is refused with a 400, and nothing changes', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const unsigned = (claims: Record<string, unknown>, header: Record<string, unknown>) =>
      `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    const cases: [string, (hh: OidcHarness, s: { sid: string; sub: string }) => Promise<string | undefined>, string][] =
      [
        [
          'a bad signature (same kid, someone else’s key)',
          async (hh, s) => {
            const { privateKey } = await jose.generateKeyPair('RS256');
            const kid = jose.decodeProtectedHeader(await logoutToken(hh, s)).kid!;
            const claims = jose.decodeJwt(await logoutToken(hh, s));
            return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(privateKey);
          },
          'bad signature',
        ],
        [
          'an unknown key',
          async (_hh, s) => {
            const { privateKey } = await jose.generateKeyPair('ES256');
            return new jose.SignJWT({
              ...s,
              iss: h!.oidc.issuer,
              aud: h!.client.clientId,
              iat: now(),
              exp: now() + 60,
              jti: 'j1',
              events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
            })
              .setProtectedHeader({ alg: 'ES256', kid: 'rogue' })
              .sign(privateKey);
          },
          'no matching signing key',
        ],
        ['the wrong aud', (hh, s) => logoutToken(hh, { ...s, aud: 'ciam-other-app' }), 'aud mismatch'],
        ['another iss', (hh, s) => logoutToken(hh, { ...s, iss: 'https://evil.example' }), 'iss mismatch'],
        ['no events claim', (hh, s) => logoutToken(hh, { ...s, events: undefined }), 'no back-channel logout event'],
        [
          'events without the back-channel logout event',
          (hh, s) => logoutToken(hh, { ...s, events: { 'http://example.com/other': {} } }),
          'no back-channel logout event',
        ],
        ['a nonce (an ID token, say)', (hh, s) => logoutToken(hh, { ...s, nonce: 'n-0S6_WzA2Mj' }), 'nonce present'],
        ['neither sid nor sub', (hh) => logoutToken(hh, {}), 'neither sid nor sub'],
        ['no jti', (hh, s) => logoutToken(hh, { ...s, jti: undefined }), 'no jti'],
        ['an expired token', (hh, s) => logoutToken(hh, { ...s, iat: now() - 600, exp: now() - 300 }), 'expired'],
        ['no exp and an old iat', (hh, s) => logoutToken(hh, { ...s, iat: now() - 600, exp: undefined }), 'expired'],
        [
          'an iat more than a day old (exp still ahead)',
          (hh, s) => logoutToken(hh, { ...s, iat: now() - 2 * 86_400, exp: now() + 60 }),
          'iat too old',
        ],
        [
          'an exp more than a day after iat',
          (hh, s) => logoutToken(hh, { ...s, iat: now(), exp: now() + 40 * 86_400 }),
          'exp too far after iat',
        ],
        [
          'an iat in the future',
          (hh, s) => logoutToken(hh, { ...s, iat: now() + 300, exp: now() + 600 }),
          'iat in the future',
        ],
        [
          'alg none',
          async (hh, s) =>
            unsigned(
              {
                ...s,
                iss: hh.oidc.issuer,
                aud: hh.client.clientId,
                iat: now(),
                exp: now() + 60,
                jti: 'j2',
                events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
              },
              { alg: 'none' },
            ),
          'algorithm not allowed',
        ],
        [
          'HS256 with the client secret',
          (hh, s) =>
            new jose.SignJWT({
              ...s,
              iss: hh.oidc.issuer,
              aud: hh.client.clientId,
              iat: now(),
              exp: now() + 60,
              jti: 'j3',
              events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
            })
              .setProtectedHeader({ alg: 'HS256' })
              .sign(new TextEncoder().encode(hh.client.clientSecret)),
          'algorithm not allowed',
        ],
        ['garbage', async () => 'not.a.jwt', 'malformed'],
        ['no logout_token at all', async () => undefined, 'logout_token is required'],
      ];

    test.each(cases)('%s', async (_name, make, reason) => {
      h = await startOidcHarness();
      await connectOidc(h.agent);
      const s = await session(h);
      const res = await postLogout(h.built.app, await make(h, s));
      expect(res.status).toBe(400);
      expect(res.headers['cache-control']).toBe('no-store');
      const body = res.body as { error?: string; error_description?: string };
      expect(body.error).toBe('invalid_request');
      expect(body.error_description).toContain(reason);
      expect(await connected(h)).toBe(true);
      if (reason !== 'logout_token is required')
        expect(auditLines(h, 'logout_token_refused').map((l) => l.reason)).toEqual([reason]);
    });
  });

  test('a GET, or a provider that sends no logout tokens, is no back-channel logout', async () => {
    h = await startOidcHarness();
    expect((await request(h.built.app).get('/auth/oidc/backchannel-logout')).status).toBe(404);
    expect(
      (await request(h.built.app).post('/auth/xt/backchannel-logout').type('form').send({ logout_token: 'x' })).status,
    ).toBe(404);
  });
});

describe('back-channel logout with two replicas on one Redis', () => {
  let redis: RedisServer;
  let second: BuiltApp | undefined;
  const secondLogs = new LogCapture();
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await second?.close();
    second = undefined;
  });
  afterAll(async () => {
    await redis.stop();
  });

  test('a token sent to one replica ends the connection made on the other; its jti is spent for both', async () => {
    h = await startOidcHarness({ env: { SESSION_STORE: 'redis', REDIS_URL: redis.url } });
    second = await createApp(h.config, { logDestination: secondLogs });
    const cb = await connectOidc(h.agent, { jar: h.opJar });
    const cookie = sidCookie(cb);
    const { sid } = await session(h);
    const viewFrom = async (app: BuiltApp['app']) =>
      sessionJson(await request(app).get('/api/session').set('Cookie', cookie)).providers.oidc.connected;
    expect(await viewFrom(h.built.app)).toBe(true);
    expect(await viewFrom(second.app)).toBe(true);

    const token = await logoutToken(h, { sid });
    expect((await postLogout(second.app, token)).status).toBe(200);
    expect(await viewFrom(h.built.app)).toBe(false);
    expect(await viewFrom(second.app)).toBe(false);
    expect((await postLogout(h.built.app, token)).status).toBe(400); // replayed at the other replica
    scanLogs(secondLogs, h.secrets());
  });

  test('a store that cannot answer: tried again briefly, then 503 with Retry-After (the provider may send it again); then it works', async () => {
    h = await startOidcHarness({ env: { SESSION_STORE: 'redis', REDIS_URL: redis.url } });
    await connectOidc(h.agent);
    const { sid } = await session(h);
    const token = await logoutToken(h, { sid });
    redis.pause();
    let res;
    const asked = Date.now();
    try {
      res = await postLogout(h.built.app, token);
    } finally {
      redis.resume();
    }
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect((res.body as { error?: string }).error).toBe('temporarily_unavailable');
    expect(Date.now() - asked).toBeLessThan(8000);
    // Redis is back: the same token (its jti was never spent) now works.
    await new Promise((r) => setTimeout(r, 500));
    expect((await postLogout(h.built.app, token)).status).toBe(200);
    expect(await connected(h)).toBe(false);
  }, 30_000);

  test('the index keys are of the store’s own (no provider id in clear), one per session and user', async () => {
    h = await startOidcHarness({ env: { SESSION_STORE: 'redis', REDIS_URL: redis.url } });
    await connectOidc(h.agent);
    const { sid, sub } = await session(h);
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      const keys = await client.keys('xtc:idx:*');
      expect(keys.length).toBeGreaterThanOrEqual(2);
      expect(keys.join(' ')).not.toContain(sid);
      expect(keys.join(' ')).not.toContain(sub);
    } finally {
      await client.quit();
    }
  });
});
