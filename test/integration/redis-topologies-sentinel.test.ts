/**
 * A Redis master found through Sentinel with an ACL user, real servers started here
 * (test/helpers/redisSentinel.ts): two replicas of the app on it.
 */
import request from 'supertest';
import { testClock } from '../helpers/clock.js';
import { TEST_SECRET, assertNoSecrets, connectXt, detailedReadyz, sessionJson, sidCookie } from '../helpers/harness.js';
import { type RedisSentinel, startRedisSentinel } from '../helpers/redisSentinel.js';
import { replicas } from '../helpers/replicas.js';

describe('Sentinel (one master, one sentinel)', () => {
  const auth = { username: 'xtc', password: 'sentinel-test-password-5d8e' };
  let sentinel: RedisSentinel;
  const apps = replicas(() => ({
    REDIS_SENTINELS: sentinel.sentinelsEnv,
    REDIS_SENTINEL_NAME: sentinel.name,
    REDIS_USERNAME: auth.username,
    REDIS_PASSWORD: auth.password,
  }));

  beforeAll(async () => {
    sentinel = await startRedisSentinel({ auth });
  });
  afterAll(async () => {
    await sentinel?.stop();
  });
  afterEach(async () => {
    await apps.closeAll();
  });

  test('the master is found through Sentinel with REDIS_USERNAME/REDIS_PASSWORD: login on A, connected on B, one refresh, the rate limit; the password never logged', async () => {
    const clock = testClock();
    const xt = await apps.standIn({ clientSecret: TEST_SECRET, now: clock.now, accessTtlSec: 600, tokenDelayMs: 300 });
    const A = await apps.instance(clock, { AUTH_RATE_LIMIT: '4' });
    const B = await apps.instance(clock, { AUTH_RATE_LIMIT: '4' });
    expect((await detailedReadyz(A.built)).body).toMatchObject({ status: 'ready', store: 'redis' });
    const cookie = sidCookie(await connectXt(request.agent(A.built.app)));
    expect((await request(B.built.app).get('/api/session').set('Cookie', cookie)).body).toMatchObject({
      connected: true,
      userId: '12345678',
    });
    clock.advance(601_000);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        request(i % 2 ? A.built.app : B.built.app)
          .get('/api/session')
          .set('Cookie', cookie),
      ),
    );
    expect(results.every((r) => r.status === 200 && sessionJson(r).connected)).toBe(true);
    expect(xt.calls.refresh_token).toBe(1);
    // The login above took 2 of the 4 (/auth/xt/login and its callback); two more, then both replicas refuse.
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await request(i % 2 ? A.built.app : B.built.app).get('/auth/xt/login')).status);
    expect(statuses).toEqual([302, 302, 429, 429]);
    for (const h of [A, B]) assertNoSecrets(h.logs.text(), [auth.password]);
  });
});
