/**
 * A back-channel logout cannot be outrun. The logout index keeps at most LOGOUT_INDEX_MAX owners
 * per provider session or user; before the fix, a person signed in at the provider who logged in
 * 100 more times (about 200 /auth requests) pushed an earlier connection T out of it, and the
 * provider's logout then ended the 100 newer ones and answered 200, but T stayed connected (on
 * SQLite and Redis alike). A logout now leaves a tombstone per session and user: T, logged in
 * before it, ends when it is next read, as the logout would have ended it.
 *
 * T logs in through the real flow; the newer logins are made through the Connections API (the
 * same sid and sub as T's, as from one browser at the provider), so 1,000 of them stay quick.
 */
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import request from 'supertest';
import type { Env } from '../../src/config/index.js';
import { LOGOUT_INDEX_MAX } from '../../src/session/connections/index.js';
import { ownerHash } from '../../src/shared/audit.js';
import { sessionJson } from '../helpers/harness.js';
import {
  type OidcHarness,
  authorizeAtOidcStandIn,
  connectOidc,
  endSessionAtOidcStandIn,
  logoutToken,
  startOidcHarness,
} from '../helpers/oidc.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { type RedisCluster, startRedisCluster } from '../helpers/redisCluster.js';

let redis: RedisServer | undefined;
let cluster: RedisCluster | undefined;
let h: OidcHarness | undefined;

afterEach(async () => {
  await h?.close(); // scans the logs for secrets
  h = undefined;
});
afterAll(async () => {
  await redis?.stop();
  await cluster?.stop();
});

const STORES: [string, () => Promise<Env>][] = [
  ['SQLite', async () => ({})],
  [
    'Redis',
    async () => {
      redis ??= await startRedis();
      return { SESSION_STORE: 'redis', REDIS_URL: redis.url };
    },
  ],
  [
    'Redis Cluster',
    async () => {
      cluster ??= await startRedisCluster();
      return { SESSION_STORE: 'redis', REDIS_CLUSTER_NODES: cluster.nodesEnv };
    },
  ],
];

/** What /api/session shows once a back-channel logout has ended the connection (the record is gone). */
const NOT_CONNECTED = { connected: false, reason: 'not_connected', userId: null, scope: null };
const view = async (hh: OidcHarness, agent = hh.agent) => sessionJson(await agent.get('/api/session')).providers.oidc;
const endedAudit = (hh: OidcHarness) =>
  hh.logs.records().filter((r) => r.audit === true && r.event === 'disconnected' && r.reason === 'provider_logout');

/** A harness on `env`'s store with its own provider user (so tests sharing one Redis never meet), and T logged in through the real flow. */
async function loggedIn(env: Env): Promise<{ hh: OidcHarness; owner: string; sid: string; sub: string }> {
  let owner = '';
  const sub = `user-${randomBytes(6).toString('hex')}`;
  const hh = await startOidcHarness({
    env: { AUTH_RATE_LIMIT: '1000', ...env },
    standIn: { account: { sub, name: 'Li Lei', email: 'li.lei@example.com' } },
    app: { onConnected: (o) => (owner = o) },
  });
  h = hh;
  expect((await connectOidc(hh.agent, { jar: hh.opJar })).status).toBe(303);
  const sid = jose.decodeJwt((await hh.stored())!.idToken!).sid as string;
  expect(typeof sid).toBe('string');
  expect((await view(hh)).connected).toBe(true);
  return { hh, owner, sid, sub };
}

/** `n` newer logins of the same provider user and session, each from a fresh session of ours. */
async function newerLogins(hh: OidcHarness, n: number, sid: string, sub: string): Promise<string[]> {
  const owners = Array.from({ length: n }, (_, i) => `newer-${i}-${randomBytes(8).toString('hex')}`);
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      owners.slice(i, i + 50).map((o) =>
        hh.built.ctx.connections.connect(o, 'oidc', {
          accessToken: `at-${o}`,
          refreshToken: `rt-${o}`,
          accessExpiresAt: hh.built.ctx.now() + 3_600_000,
          sid,
          userId: sub,
        }),
      ),
    );
  }
  return owners;
}

describe.each(STORES)('on %s', (_name, storeEnv) => {
  describe.each([100, 1000])('T, then %i newer logins of the same user', (n) => {
    test('a logout token naming only sub ends T too', async () => {
      const { hh, owner, sid, sub } = await loggedIn(await storeEnv());
      const owners = await newerLogins(hh, n, sid, sub);
      const latest = request.agent(hh.built.app); // and the latest login, through the real flow: in the index
      expect((await connectOidc(latest)).status).toBe(303);
      const res = await request(hh.built.app)
        .post('/auth/oidc/backchannel-logout')
        .type('form')
        .send({ logout_token: await logoutToken(hh, { sub }, {}, hh.built.ctx.now()) });
      expect(res.status).toBe(200);
      expect(await view(hh, latest)).toMatchObject(NOT_CONNECTED); // ended by the index, at the logout
      expect(await view(hh)).toEqual(await view(hh, latest)); // T: ended by the tombstone, and shown the same way
      expect(await hh.built.ctx.connections.read(owner, 'oidc')).toBeNull(); // removed
      for (const o of [owners[0]!, owners[n - 1]!]) expect(await hh.built.ctx.connections.read(o, 'oidc')).toBeNull();
      expect(endedAudit(hh).filter((l) => l.owner === ownerHash(owner))).toHaveLength(1);
    }, 60_000);

    test('a real sign-out at the provider (its logout token names sid and sub) ends T too', async () => {
      const { hh, owner, sid, sub } = await loggedIn(await storeEnv());
      await newerLogins(hh, n, sid, sub);
      const end = new URL(`${hh.oidc.issuer}/session/end`);
      end.searchParams.set('client_id', hh.client.clientId);
      await endSessionAtOidcStandIn(end.toString(), hh.opJar);
      expect(hh.oidc.backchannel.map((b) => b.status)).toEqual([200]);
      expect(jose.decodeJwt(hh.oidc.backchannel[0]!.token)).toMatchObject({ sid, sub });
      expect(await view(hh)).toMatchObject(NOT_CONNECTED);
      expect(await hh.built.ctx.connections.read(owner, 'oidc')).toBeNull();
      // The index ended LOGOUT_INDEX_MAX at the logout; T's own read ended T.
      expect(endedAudit(hh).filter((l) => l.owner === ownerHash(owner))).toHaveLength(1);
    }, 60_000);
  });

  test('a login after the logout stays connected (at once, under the same clock)', async () => {
    const { hh, sid, sub } = await loggedIn(await storeEnv());
    await newerLogins(hh, LOGOUT_INDEX_MAX + 1, sid, sub);
    const token = await logoutToken(hh, { sub }, {}, hh.built.ctx.now());
    expect(
      (await request(hh.built.app).post('/auth/oidc/backchannel-logout').type('form').send({ logout_token: token }))
        .status,
    ).toBe(200);
    expect(await view(hh)).toMatchObject(NOT_CONNECTED);
    expect((await connectOidc(hh.agent, { jar: hh.opJar })).status).toBe(303);
    expect((await view(hh)).connected).toBe(true);
    expect((await view(hh)).connected).toBe(true); // read again: still
  }, 60_000);

  test('a callback held back from before a logout of its provider session, delivered after it, does not connect', async () => {
    const { hh, sid } = await loggedIn(await storeEnv());
    // A second browser of ours in the same provider session: approved at the provider, callback held.
    const held = request.agent(hh.built.app);
    const callback = await authorizeAtOidcStandIn(
      String((await held.get('/auth/oidc/login')).headers.location),
      'approve',
      hh.opJar,
    );
    hh.advance(1);
    const token = await logoutToken(hh, { sid }, {}, hh.built.ctx.now()); // the provider's session ends; its codes stay valid
    expect(
      (await request(hh.built.app).post('/auth/oidc/backchannel-logout').type('form').send({ logout_token: token }))
        .status,
    ).toBe(200);
    hh.advance(5);
    expect((await held.get(callback)).status).toBe(303); // the code exchange itself works (same provider session, same sid)
    expect(await view(hh, held)).toMatchObject(NOT_CONNECTED);
    hh.advance(10 * 60_000);
    expect(await view(hh, held)).toMatchObject(NOT_CONNECTED);
  }, 60_000);
});
