/**
 * A local Redis Cluster of 3 masters, real servers started here (test/helpers/redisCluster.ts):
 * two replicas on it (login, one refresh for concurrent requests on both, a shared rate limit,
 * webhooks), and a hung master. The store contract runs on the cluster too
 * (store-contract.test.ts); Sentinel and TLS are in redis-topologies-sentinel and -tls.test.ts.
 */
import { pino } from 'pino';
import request from 'supertest';
import { AppError } from '../../src/errors.js';
import { PARTITIONS, createRedisStores, partitionOf } from '../../src/store/redis/index.js';
import type { Stores } from '../../src/store/types.js';
import { testClock } from '../helpers/clock.js';
import { TEST_SECRET, connectXt, detailedReadyz, sessionJson, sidCookie } from '../helpers/harness.js';
import { type RedisCluster, startRedisCluster } from '../helpers/redisCluster.js';
import { replicas, roundTripAcross } from '../helpers/replicas.js';
import { type WebhookReceiver, startReceiver } from '../helpers/webhookReceiver.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Redis Cluster (3 masters)', () => {
  let cluster: RedisCluster;
  const apps = replicas(() => ({ REDIS_CLUSTER_NODES: cluster.nodesEnv }));
  let receiver: WebhookReceiver | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  beforeEach(async () => {
    await cluster.flushAll(); // the rate-limit counters of an earlier test, say
  });
  afterEach(async () => {
    await apps.closeAll();
    await receiver?.close();
    receiver = undefined;
  });

  test('a person who logs in through A is connected on B; concurrent requests needing a refresh, half to A and half to B, make exactly one refresh call', async () => {
    const clock = testClock();
    const xt = await apps.standIn({ clientSecret: TEST_SECRET, now: clock.now, accessTtlSec: 600, tokenDelayMs: 300 });
    const A = await apps.instance(clock);
    const B = await apps.instance(clock);
    expect((await detailedReadyz(A.built)).body).toMatchObject({ status: 'ready', store: 'redis' });
    const cookie = sidCookie(await connectXt(request.agent(A.built.app)));
    expect((await request(B.built.app).get('/api/session').set('Cookie', cookie)).body).toMatchObject({
      connected: true,
      userId: '12345678',
    });
    clock.advance(601_000);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(i % 2 ? A.built.app : B.built.app)
          .get('/api/session')
          .set('Cookie', cookie),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(results.every((r) => sessionJson(r).connected)).toBe(true);
    expect(xt.calls.refresh_token).toBe(1);
  });

  test('the auth rate limit is one limit for both replicas (rate-limit-redis on the cluster)', async () => {
    const clock = testClock();
    await apps.standIn({ clientSecret: TEST_SECRET, now: clock.now });
    const env = { AUTH_RATE_LIMIT: '4', AUTH_RATE_WINDOW: '60s' };
    const A = await apps.instance(clock, env);
    const B = await apps.instance(clock, env);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await request(i % 2 ? A.built.app : B.built.app).get('/auth/xt/login')).status);
    expect(statuses).toEqual([302, 302, 302, 302, 429, 429]);
  });

  test('webhooks: events made through both replicas are each delivered once, in order per person', async () => {
    receiver = await startReceiver();
    receiver.answer = () => sleep(Math.random() * 20).then(() => 204);
    const clock = testClock();
    await apps.standIn({ clientSecret: TEST_SECRET, now: clock.now });
    const hooks = { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret };
    const FAST = { webhookTiming: { firstRetryMs: 50, pollMs: 50 } };
    const A = await apps.instance(clock, hooks, FAST);
    const B = await apps.instance(clock, hooks, FAST);
    // People spread over partitions (and so over the masters): each logs in on one replica and disconnects through the other.
    await roundTripAcross(
      receiver,
      Array.from({ length: 8 }, (_, i) => String(40_000_000 + i)),
      [A, B],
    );
    expect(((await detailedReadyz(A.built)).body as { webhooks?: unknown }).webhooks).toEqual({
      pending: 0,
      oldestAgeSeconds: 0,
      disabled: false,
    });
  }, 60_000);

  describe('a master that stops answering (SIGSTOP)', () => {
    let stores: Stores | undefined;
    afterEach(async () => {
      cluster.resume(0);
      await stores?.close();
      stores = undefined;
    });

    test('its keys answer 503 within REDIS_COMMAND_TIMEOUT, the other masters keep working, the ping fails; after SIGCONT all answer again', async () => {
      const COMMAND_TIMEOUT_MS = 300;
      stores = await createRedisStores({
        redis: { mode: 'cluster', nodes: cluster.nodes, tls: false },
        ttlMs: 60_000,
        logger: pino({ level: 'silent' }),
        prefix: `hung-${Date.now()}:`,
        commandTimeoutMs: COMMAND_TIMEOUT_MS,
      });
      const a = stores.authState;
      // One owner per partition, so every master holds some of them.
      const owners: string[] = [];
      for (let i = 0; owners.length < PARTITIONS; i++) if (partitionOf(`o${i}`) === owners.length) owners.push(`o${i}`);
      for (const o of owners) await a.putConnection(o, 'xt', `v-${o}`, 60_000);

      cluster.pause(0);
      const timed = async (o: string) => {
        const started = performance.now();
        try {
          return { o, value: await a.getConnection(o, 'xt'), ms: performance.now() - started };
        } catch (err) {
          return { o, err, ms: performance.now() - started };
        }
      };
      const first = await Promise.all(owners.map(timed));
      const failed = first.filter((r) => 'err' in r);
      const answered = first.filter((r) => !('err' in r));
      expect(failed.length).toBeGreaterThan(0);
      expect(answered.length).toBeGreaterThan(0);
      for (const r of failed) {
        expect(r.err).toBeInstanceOf(AppError);
        expect((r.err as AppError).code).toBe('store_unavailable');
        expect(r.ms).toBeLessThan(COMMAND_TIMEOUT_MS + 500);
      }
      for (const r of answered) expect(r.value).toBe(`v-${r.o}`);
      // The node is presumed hung now: its commands fail at once, without waiting out the deadline.
      const again = await timed(failed[0]!.o);
      expect('err' in again).toBe(true);
      expect(again.ms).toBeLessThan(COMMAND_TIMEOUT_MS);
      await expect(a.ping()).rejects.toBeInstanceOf(AppError);

      cluster.resume(0);
      let back = 0;
      for (let i = 0; i < 100 && back < owners.length; i++) {
        await sleep(100);
        back = (await Promise.all(owners.map(timed))).filter((r) => !('err' in r) && r.value === `v-${r.o}`).length;
      }
      expect(back).toBe(owners.length);
      await expect(a.ping()).resolves.toBeUndefined();
    });
  });
});
