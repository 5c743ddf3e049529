/**
 * What the logout tests (oidc-logout-*.test.ts) read and send: whether the OIDC connection is
 * there, the provider session of the last login, and a back-channel logout POST.
 */
import * as jose from 'jose';
import request from 'supertest';
import type { BuiltApp } from '../../src/app.js';
import { sessionJson } from './harness.js';
import type { OidcHarness } from './oidc.js';

/** Whether /api/session (of `agent`, the harness's own by default) shows the OIDC connection. */
export const connected = async (hh: OidcHarness, agent = hh.agent) =>
  sessionJson(await agent.get('/api/session')).providers.oidc.connected;

/** The ID token's sid and sub of the last login, as the stand-in issued it. */
export async function session(hh: OidcHarness): Promise<{ sid: string; sub: string }> {
  const rec = await hh.stored();
  const claims = jose.decodeJwt(rec!.idToken!);
  expect(typeof claims.sid).toBe('string');
  expect(rec!.sid).toBe(claims.sid);
  return { sid: String(claims.sid), sub: String(claims.sub) };
}

/** POST /auth/oidc/backchannel-logout with `token` as logout_token (none at all when undefined). */
export const postLogout = (app: BuiltApp['app'], token: string | undefined) =>
  request(app)
    .post('/auth/oidc/backchannel-logout')
    .type('form')
    .send(token === undefined ? {} : { logout_token: token });
