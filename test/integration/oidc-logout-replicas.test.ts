/**
 * Back-Channel Logout 1.0 with two replicas of the app on one Redis: a logout token sent to one
 * replica ends the connection made on the other, its jti is spent for both, a store that cannot
 * answer gets the provider to send it again, and the index keys give away no provider id.
 */
import { createClient } from 'redis';
import request from 'supertest';
import { type BuiltApp, createApp } from '../../src/app.js';
import { LogCapture, scanLogs, sessionJson, sidCookie } from '../helpers/harness.js';
import { type OidcHarness, connectOidc, logoutToken, startOidcHarness } from '../helpers/oidc.js';
import { connected, postLogout, session } from '../helpers/oidcLogout.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

let h: OidcHarness | undefined;

afterEach(async () => {
  await h?.close(); // scans the logs for secrets
  h = undefined;
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
