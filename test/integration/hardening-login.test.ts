/**
 * The attacks an adversary would try on the login round trip: a stale or misdirected state, a
 * flood of logins, a poisoned Host, an open redirect through returnTo. Each test fails against a
 * naive implementation. (The other attacks: hardening-*.test.ts.)
 */
import request from 'supertest';
import { testClock } from '../helpers/clock.js';
import { type Harness, authorizeAtStandIn, startHarness } from '../helpers/harness.js';
import { stubProvider } from '../helpers/providers.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('state', () => {
  test('expires at 10 minutes (clock controlled), before the token endpoint is called', async () => {
    const clock = testClock();
    h = await startHarness({ xt: { now: clock.now }, app: { now: clock.now } });
    const late = await h.agent.get('/auth/xt/login');
    clock.advance(10 * 60_000);
    const res = await h.agent.get(await authorizeAtStandIn(late.headers.location!));
    expect(res.status).toBe(400);
    expect(h.xt.calls.authorization_code).toBe(0);
    const inTime = await h.agent.get('/auth/xt/login');
    clock.advance(10 * 60_000 - 1000);
    expect((await h.agent.get(await authorizeAtStandIn(inTime.headers.location!))).status).toBe(303);
  });

  test('a state issued for one provider is refused by another', async () => {
    let exchanged = 0;
    const other = stubProvider({
      id: 'other',
      exchangeCode: async () => {
        exchanged++;
        return { accessToken: 'x' };
      },
    });
    h = await startHarness({ app: { providers: [other] } });
    const login = await h.agent.get('/auth/xt/login');
    const state = new URL(login.headers.location!).searchParams.get('state')!;
    const res = await h.agent.get(`/auth/other/callback?code=abc&state=${encodeURIComponent(state)}`);
    expect(res.status).toBe(400);
    expect(exchanged).toBe(0);
    // …and the misuse spent it: the genuine XT.COM callback no longer works either.
    expect((await h.agent.get(`/auth/xt/callback?code=abc&state=${encodeURIComponent(state)}`)).status).toBe(400);
  });

  test('a flood of logins keeps at most 8 pending transactions and does not grow the session', async () => {
    h = await startHarness();
    const first = await h.agent.get('/auth/xt/login');
    // Every stored session, through the session store's own API (the memory store: one session here).
    const store = h.built.ctx.stores.sessions;
    const allSessions = () =>
      new Promise<Record<string, { owner?: string }>>((resolve, reject) =>
        store.all!((err: unknown, all) =>
          err
            ? reject(err instanceof Error ? err : new Error('store.all failed'))
            : resolve((all ?? {}) as Record<string, { owner?: string }>),
        ),
      );
    const sizeAfterOne = JSON.stringify(await allSessions()).length;
    for (let i = 0; i < 60; i++) expect((await h.agent.get('/auth/xt/login')).status).toBe(302);
    const sessions = Object.entries(await allSessions());
    expect(sessions).toHaveLength(1);
    // The record is sealed, bound to its session id (sealedSessions.ts): opened with the app's key.
    const [sid, sealed] = sessions[0]! as [string, { sealed?: string }];
    const owner = (JSON.parse(h.built.ctx.sealer.open(sealed.sealed!, `session:${sid}`)!) as { owner: string }).owner;
    expect(await h.built.ctx.stores.authState.countTransactions(owner)).toBe(8);
    expect(Math.abs(JSON.stringify(await allSessions()).length - sizeAfterOne)).toBeLessThan(40); // only the cookie expiry moves
    // The oldest was evicted.
    expect((await h.agent.get(await authorizeAtStandIn(first.headers.location!))).status).toBe(400);
  });
});

describe('Host and X-Forwarded-* never reach redirect_uri', () => {
  test.each(['false', 'true'])('TRUST_PROXY=%s', async (trust) => {
    h = await startHarness({ env: { PUBLIC_URL: 'https://connect.example.com', TRUST_PROXY: trust } });
    const res = await h.agent
      .get('/auth/xt/login')
      .set('Host', 'evil.example')
      .set('X-Forwarded-Host', 'evil.example')
      .set('X-Forwarded-Proto', 'http')
      .set('Forwarded', 'host=evil.example;proto=http');
    const redirectUri = new URL(res.headers.location!).searchParams.get('redirect_uri');
    expect(redirectUri).toBe('https://connect.example.com/auth/xt/callback');
    expect(res.headers.location).not.toContain('evil.example');
  });
});

describe('open redirect through returnTo, judged on the Location header a real login sends', () => {
  // Dot segments that the URL parser removes leave `//host`: each was accepted before the fix.
  const payloads = [
    '/.//evil.example/phish',
    '/a/..//evil.example',
    '/%2e//evil.example',
    '/%2e%2e//evil.example',
    '/.%2e//evil.example',
    '/a/%2e%2e/%2e%2e//evil.example',
    '/./\\evil.example',
  ];
  test('every payload, encoded and raw in the query, lands on our own origin', async () => {
    h = await startHarness();
    const origin = h.config.server.publicUrl.origin;
    const queries = payloads.flatMap((p) => [encodeURIComponent(p), p.replace(/\\/g, '%5C')]);
    for (const q of queries) {
      const agent = request.agent(h.built.app);
      const login = await agent.get(`/auth/xt/login?returnTo=${q}`);
      expect(login.status).toBe(302);
      const cb = await agent.get(await authorizeAtStandIn(login.headers.location!));
      expect(cb.status).toBe(303);
      const location = cb.headers.location!;
      // Resolved as the browser resolves it, against the callback URL it is on.
      const landed = new URL(location, `${origin}/auth/xt/callback`);
      expect({ q, origin: landed.origin }).toEqual({ q, origin });
      expect(location.startsWith('//') || location.startsWith('/\\')).toBe(false);
    }
  });
});
