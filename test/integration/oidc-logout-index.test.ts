/**
 * The sid/sub index a back-channel logout reads must live as long as the connection it names.
 * A provider whose refresh tokens slide (each refresh gives a later expiry) keeps a connection in
 * use far past its login's expiry; before the fix the index entry, set once at login, ran out
 * after about a day and a valid logout then ended nothing (found by an adversarial review).
 */
import * as jose from 'jose';
import type { Provider } from '../../src/providers/types.js';
import { connectOidc, logoutToken, startOidcHarness } from '../helpers/oidc.js';

const H = 3_600_000;

test('a connection refreshed for 40 hours under sliding 12-hour refresh tokens is still ended by a back-channel logout', async () => {
  let owner = '';
  const h = await startOidcHarness({ app: { onConnected: (o) => (owner = o) } });
  try {
    const now = () => h.built.ctx.now();
    const p = h.provider as unknown as Provider;
    for (const m of ['exchangeCode', 'refresh'] as const) {
      const original = p[m].bind(p) as unknown as (...a: unknown[]) => Promise<Record<string, unknown>>;
      (p as unknown as Record<string, unknown>)[m] = async (...a: unknown[]) => ({
        ...(await original(...a)),
        refreshExpiresAt: now() + 12 * H,
      });
    }
    expect((await connectOidc(h.agent, { jar: h.opJar })).status).toBe(303);
    const sid = jose.decodeJwt((await h.stored())!.idToken!).sid as string;
    for (let i = 0; i < 4; i++) {
      h.advance(10 * H);
      expect((await h.built.ctx.connections.ensureFresh(owner, 'oidc'))?.status).toBe('active');
    }
    const token = await logoutToken(h, { sid }, {}, now());
    const res = await fetch(`${h.appUrl}/auth/oidc/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `logout_token=${token}`,
    });
    expect(res.status).toBe(200);
    expect(await h.built.ctx.connections.read(owner, 'oidc')).toBeNull();
  } finally {
    await h.close();
  }
});
