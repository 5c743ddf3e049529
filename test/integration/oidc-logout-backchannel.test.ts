/**
 * Back-Channel Logout 1.0, against the real oidc-provider (the stand-in with its
 * backchannelLogout feature on, see helpers/oidc.ts): POST /auth/oidc/backchannel-logout, every
 * check of the logout token, the connection it names ended, the webhook's reason. On two
 * replicas: oidc-logout-replicas.test.ts; RP-Initiated Logout: oidc-logout-rp-initiated.test.ts.
 */
import * as jose from 'jose';
import request from 'supertest';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/providers/oidc/logout.js';
import {
  type OidcHarness,
  connectOidc,
  endSessionAtOidcStandIn,
  logoutToken,
  startOidcHarness,
} from '../helpers/oidc.js';
import { connected, postLogout, session } from '../helpers/oidcLogout.js';
import { type WebhookReceiver, startReceiver } from '../helpers/webhookReceiver.js';

let h: OidcHarness | undefined;
let receiver: WebhookReceiver | undefined;

afterEach(async () => {
  await h?.close(); // scans the logs for secrets
  h = undefined;
  await receiver?.close();
  receiver = undefined;
});

const auditLines = (hh: OidcHarness, event: string) =>
  hh.logs.records().filter((r) => r.audit === true && r.event === event);

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
