/**
 * Redis beyond one server, against real servers started here (test/helpers/redisCluster.ts): a
 * local Redis Cluster of 3 masters (two replicas on it: login, one refresh for concurrent requests
 * on both, a shared rate limit, webhooks; a hung master), a master found through Sentinel with an
 * ACL user, and a TLS-only redis-server trusted through REDIS_CA_FILE. The store contract runs on
 * the cluster too (store-contract.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import { type AppOptions, createApp } from '../../src/app.js';
import { ConfigError, type Env, loadConfig } from '../../src/config/index.js';
import { AppError } from '../../src/errors.js';
import { PARTITIONS, createRedisStores, partitionOf } from '../../src/store/redis/index.js';
import type { Stores } from '../../src/store/types.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { type TestClock, testClock } from '../helpers/clock.js';
import {
  type Harness,
  LogCapture,
  TEST_SECRET,
  assertNoSecrets,
  connectXt,
  detailedReadyz,
  sessionJson,
  sidCookie,
  startHarness,
  tempDir,
  xtEnv,
} from '../helpers/harness.js';
import {
  type RedisCluster,
  type RedisSentinel,
  type RedisTls,
  redisHasTls,
  startRedisCluster,
  startRedisSentinel,
  startRedisTls,
} from '../helpers/redisCluster.js';
import { roundTripAcross } from '../helpers/replicas.js';
import { type WebhookReceiver, startReceiver } from '../helpers/webhookReceiver.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CONFIG_ENV = xtEnv({ url: 'http://127.0.0.1:1' });

/** The problems loadConfig lists for `env` ([] when it loads). */
function problems(env: Env): string[] {
  try {
    loadConfig({ ...CONFIG_ENV, ...env });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('configuration', () => {
  test('a cluster or Sentinel needs no REDIS_URL; exactly one of the three with SESSION_STORE=redis', () => {
    const cluster = loadConfig({
      ...CONFIG_ENV,
      SESSION_STORE: 'redis',
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b:7001,[::1]:7002',
    });
    expect(cluster.redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-b', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      tls: false,
      commandTimeoutMs: 1000,
    });
    const sentinel = loadConfig({
      ...CONFIG_ENV,
      SESSION_STORE: 'redis',
      REDIS_SENTINELS: 's1:26379,s2:26379',
      REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_USERNAME: 'xtc',
      REDIS_PASSWORD: 'pw-of-xtc',
    });
    expect(sentinel.redis).toMatchObject({
      mode: 'sentinel',
      name: 'mymaster',
      username: 'xtc',
      password: 'pw-of-xtc',
      tls: false,
    });
    expect(loadConfig({ ...CONFIG_ENV, SESSION_STORE: 'redis', REDIS_URL: 'redis://r:6379' }).redis).toEqual({
      mode: 'single',
      url: 'redis://r:6379',
      tls: false,
      commandTimeoutMs: 1000,
    });

    expect(problems({ SESSION_STORE: 'redis' })).toEqual([
      expect.stringMatching(/^REDIS_URL: required when SESSION_STORE=redis .*REDIS_CLUSTER_NODES.*REDIS_SENTINELS/),
    ]);
    expect(problems({ SESSION_STORE: 'redis', REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'a:1' })).toEqual([
      'REDIS_URL, REDIS_CLUSTER_NODES: set only one (one server, a cluster, or Sentinel)',
    ]);
  });

  test('every problem at once: bad node entries, a half-set Sentinel, a user without password, an unreadable CA file', () => {
    const dir = tempDir();
    const notPem = path.join(dir, 'not.pem');
    fs.writeFileSync(notPem, 'hello');
    expect(
      problems({
        SESSION_STORE: 'redis',
        REDIS_CLUSTER_NODES: 'a:1,b,c:99999',
        REDIS_USERNAME: 'u',
        REDIS_CA_FILE: path.join(dir, 'missing.pem'),
      }),
    ).toEqual([
      'REDIS_USERNAME: needs REDIS_PASSWORD',
      'REDIS_CLUSTER_NODES: entry #2 ("b") must be host:port',
      'REDIS_CLUSTER_NODES: entry #3 ("c:99999") must be host:port',
      `REDIS_CA_FILE: cannot read ${path.join(dir, 'missing.pem')} (ENOENT)`,
    ]);
    expect(problems({ SESSION_STORE: 'redis', REDIS_SENTINELS: 's1:26379' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINEL_NAME: required with REDIS_SENTINELS/),
    ]);
    expect(problems({ SESSION_STORE: 'redis', REDIS_URL: 'redis://r:6379', REDIS_SENTINEL_NAME: 'm' })).toEqual([
      'REDIS_SENTINELS: required when REDIS_SENTINEL_NAME is set',
    ]);
    expect(problems({ SESSION_STORE: 'redis', REDIS_URL: 'rediss://r:6379', REDIS_CA_FILE: notPem })).toEqual([
      `REDIS_CA_FILE: ${notPem} holds no PEM certificate`,
    ]);
    expect(
      problems({
        SESSION_STORE: 'redis',
        REDIS_URL: 'redis://:secret@r:6379',
        REDIS_PASSWORD: 'x',
        REDIS_CA_FILE: notPem,
      }),
    ).toEqual([
      'REDIS_PASSWORD: REDIS_URL carries a password already; set it in one place',
      'REDIS_CA_FILE: set, but REDIS_URL is redis:// (use rediss:// for TLS)',
      `REDIS_CA_FILE: ${notPem} holds no PEM certificate`,
    ]);
    expect(problems({ SESSION_STORE: 'redis', REDIS_URL: 'http://r:6379' })).toEqual([
      'REDIS_URL: must be a redis:// or rediss:// URL',
    ]);
  });
});

/** Two replicas of the app on one stand-in and one Redis (given by `env`), sharing a clock. */
function replicas(env: () => Env) {
  let xt: XtStandIn | undefined;
  const harnesses: Harness[] = [];
  return {
    async standIn(opts: Parameters<typeof startXtStandIn>[0]) {
      xt = await startXtStandIn(opts);
      return xt;
    },
    async instance(clock: TestClock, extra: Env = {}, app: AppOptions = {}) {
      if (!xt) throw new Error('start the stand-in first');
      const h = await startHarness({
        standIn: xt,
        env: { SESSION_STORE: 'redis', ...env(), ...extra },
        app: { now: clock.now, ...app },
      });
      harnesses.push(h);
      return h;
    },
    async closeAll() {
      for (const h of harnesses.splice(0)) await h.close(); // each scans its own logs
      await xt?.close();
      xt = undefined;
    },
  };
}

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

describe('TLS (rediss:// with REDIS_CA_FILE)', () => {
  let tls: RedisTls | undefined;
  let xt: XtStandIn | undefined;
  let h: Harness | undefined;
  let hasTls = false;

  beforeAll(async () => {
    hasTls = await redisHasTls();
    if (hasTls) tls = await startRedisTls();
  });
  afterAll(async () => {
    await tls?.stop();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await xt?.close();
    xt = undefined;
  });

  test('this redis-server is built with TLS', () => {
    // Debian's is; without it the tests below would prove nothing, so say so instead of skipping quietly.
    expect(hasTls).toBe(true);
  });

  test('the server certificate is checked against REDIS_CA_FILE: a login works', async () => {
    h = await startHarness({ env: { SESSION_STORE: 'redis', REDIS_URL: tls!.url, REDIS_CA_FILE: tls!.caFile } });
    expect(h.config.redis).toMatchObject({ mode: 'single', tls: true });
    expect(h.config.redis?.ca).toContain('BEGIN CERTIFICATE');
    expect((await connectXt(h.agent)).status).toBe(303);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
    expect((await request(h.built.app).get('/readyz')).status).toBe(200);
  });

  test('a certificate of another CA, or plain redis:// to the TLS port: a clear error at start', async () => {
    xt = await startXtStandIn({ clientSecret: TEST_SECRET });
    const other = loadConfig(
      xtEnv(xt, { SESSION_STORE: 'redis', REDIS_URL: tls!.url, REDIS_CA_FILE: tls!.otherCaFile }),
    );
    await expect(createApp(other, { logDestination: new LogCapture() })).rejects.toThrow(
      /cannot connect to Redis at REDIS_URL \(.*certificate/,
    );
    const plain = loadConfig(xtEnv(xt, { SESSION_STORE: 'redis', REDIS_URL: tls!.url.replace('rediss:', 'redis:') }));
    await expect(createApp(plain, { logDestination: new LogCapture() })).rejects.toThrow(
      /cannot connect to Redis at REDIS_URL/,
    );
  });
});
