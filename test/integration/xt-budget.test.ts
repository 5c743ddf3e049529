/**
 * The deployment's XT.COM budget (XT_API_IP_LIMIT) shared fairly, under the attack that used to
 * starve everyone else: three people, each with their own XT.COM account, loop on open-order and
 * balances as fast as XT.COM's per-user limits let them (about 520 calls a minute each, so three
 * of them want 1560 of the 1000 a minute). A fourth person calls once every 3 s, and the
 * institution's backend (/v1, the service class) once a second: neither may ever be refused.
 *
 * Scaled in time only: the deployment window is 12 s with a budget of 200 (the same 16.7 calls a
 * second as 1000 a minute), XT.COM's per-user windows are the real ones, so every rate is the
 * real rate. Run on the in-process guard and on two guards ("replicas") sharing one redis-server.
 * Then the exact split on a Redis Cluster (one script, keys of one slot), and through the app:
 * /api/xt counts as the person, /v1 as the institution.
 */
import { pino } from 'pino';
import request from 'supertest';
import { AppError } from '../../src/errors.js';
import { SlidingXtGuard, type XtCallKind, type XtGuard } from '../../src/services/xtGuard.js';
import { createRedisStores } from '../../src/store/redis/index.js';
import type { Stores } from '../../src/store/types.js';
import { connectXt, startHarness } from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { type RedisCluster, startRedisCluster } from '../helpers/redisCluster.js';

const LIMIT = 200;
const WINDOW_MS = 12_000;
const RUN_MS = 15_000;
const PERSON_SHARE = 0.1;
const SERVICE_SHARE = 0.1;

interface Tally {
  ok: number;
  refused: number;
  /** The longest Retry-After a refusal carried. */
  worstWaitMs: number;
}

const tally = (): Tally => ({ ok: 0, refused: 0, worstWaitMs: 0 });
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One call: counted as admitted or refused (429 from the guard); anything else fails the test. */
async function call(
  guard: XtGuard,
  who: string,
  kind: XtCallKind,
  t: Tally,
  caller: 'person' | 'service' = 'person',
): Promise<boolean> {
  try {
    await guard.take(who, kind, caller);
    t.ok++;
    return true;
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'rate_limited') throw err;
    t.refused++;
    t.worstWaitMs = Math.max(t.worstWaitMs, Number(err.detail.retryAfterMs));
    return false;
  }
}

/** A caller that loops until `until`, alternating replicas; a greedy one ignores Retry-After (20 ms breather only). */
async function loop(guards: XtGuard[], who: string, kind: XtCallKind, until: number, t: Tally): Promise<void> {
  for (let i = 0; performance.now() < until; i++)
    if (!(await call(guards[i % guards.length]!, who, kind, t))) await sleep(20);
}

/** Calls once every `everyMs` until `until` (each call started on time, whether or not the last has answered). */
async function every(everyMs: number, until: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  const calls: Promise<unknown>[] = [];
  for (let i = 0; performance.now() < until; i++) {
    calls.push(fn(i));
    await sleep(everyMs);
  }
  await Promise.all(calls);
}

async function attack(guards: XtGuard[], label: string) {
  const until = performance.now() + RUN_MS;
  const greedy = ['greedy-1', 'greedy-2', 'greedy-3'].map((who) => ({ who, t: tally() }));
  const light = tally();
  const service = tally();
  await Promise.all([
    // Two loops per endpoint per greedy person: open-order ('other') and balances ('asset').
    ...greedy.flatMap(({ who, t }) =>
      (['other', 'other', 'asset', 'asset'] as const).map((kind) => loop(guards, who, kind, until, t)),
    ),
    every(3000, until, (i) => call(guards[i % guards.length]!, 'light-4', 'asset', light)),
    every(1000, until, (i) => call(guards[i % guards.length]!, 'institution-subject', 'other', service, 'service')),
  ]);
  const line = (name: string, t: Tally) =>
    `${name} ${t.ok} admitted, ${t.refused} refused${t.refused ? ` (Retry-After up to ${Math.ceil(t.worstWaitMs / 1000)} s)` : ''}`;
  process.stdout.write(
    `${label}, ${RUN_MS / 1000} s: ${[...greedy.map((g) => line(g.who, g.t)), line('light-4', light), line('/v1', service)].join('; ')}\n`,
  );
  return { greedy, light, service };
}

function expectFair(r: Awaited<ReturnType<typeof attack>>): void {
  expect(r.light.refused).toBe(0);
  expect(r.service.refused).toBe(0);
  expect(r.light.ok).toBeGreaterThanOrEqual(4); // at 0, 3, 6, 9 (and 12) s, however late the timers
  expect(r.service.ok).toBeGreaterThanOrEqual(12);
  // Each greedy person is served, but never more than their share per window: the run is
  // shorter than two windows, so at most two shares (the unit test checks each window exactly).
  const share = Math.ceil(PERSON_SHARE * LIMIT);
  for (const { t } of r.greedy) {
    expect(t.ok).toBeGreaterThanOrEqual(share);
    expect(t.ok).toBeLessThanOrEqual(2 * share);
    expect(t.refused).toBeGreaterThan(0);
  }
}

const options = {
  ipLimitPerMinute: LIMIT,
  budgetWindowMs: WINDOW_MS,
  queueWaitMs: 2000,
  personShare: PERSON_SHARE,
  serviceShare: SERVICE_SHARE,
};

test('in process: three greedy people never cause a refusal for a light user or the institution', async () => {
  expectFair(await attack([new SlidingXtGuard(options)], 'memory guard'));
}, 40_000);

describe('two replicas sharing Redis', () => {
  let redis: RedisServer;
  let one: Stores;
  let two: Stores;
  beforeAll(async () => {
    redis = await startRedis();
    const logger = pino({ level: 'silent' });
    one = await createRedisStores({ url: redis.url, ttlMs: 60_000, logger, prefix: 'budget:' });
    two = await createRedisStores({ url: redis.url, ttlMs: 60_000, logger, prefix: 'budget:' });
  });
  afterAll(async () => {
    await one.close();
    await two.close();
    await redis.stop();
  });

  test('three greedy people never cause a refusal for a light user or the institution', async () => {
    const guards = [
      new SlidingXtGuard({ ...options, log: one.slidingLog! }),
      new SlidingXtGuard({ ...options, log: two.slidingLog! }),
    ];
    expectFair(await attack(guards, 'redis guard, two replicas'));
  }, 40_000);
});

test('on a Redis Cluster, two replicas: the split is exact and the script touches one slot', async () => {
  const cluster: RedisCluster = await startRedisCluster();
  const logger = pino({ level: 'silent' });
  const redis = { mode: 'cluster' as const, nodes: cluster.nodes, tls: false };
  const stores = [
    await createRedisStores({ redis, ttlMs: 60_000, logger }),
    await createRedisStores({ redis, ttlMs: 60_000, logger }),
  ];
  try {
    // 20 a minute: the institution keeps 2, people share 18, one person at most 2.
    const o = {
      ipLimitPerMinute: 20,
      queueWaitMs: 0,
      personShare: 0.1,
      serviceShare: 0.1,
      userLimits: { asset: 100, other: 100 },
    };
    const [a, b] = stores.map((s) => new SlidingXtGuard({ ...o, log: s.slidingLog! }));
    const guards = [a!, b!];
    const t = tally();
    // Eight people call 5 times each, over both replicas at once: 2 each get through.
    await Promise.all(
      Array.from({ length: 8 }, (_, p) =>
        Promise.all(Array.from({ length: 5 }, (_, i) => call(guards[i % 2]!, `greedy-${p}`, 'other', t))),
      ),
    );
    expect(t).toMatchObject({ ok: 16, refused: 24 });
    const light = tally();
    for (let i = 0; i < 3; i++) await call(guards[i % 2]!, 'light', 'asset', light);
    expect(light).toMatchObject({ ok: 2, refused: 1 }); // its share, as anyone's; then people's 18 are used
    expect(await call(a!, 'newcomer', 'other', tally())).toBe(false);
    const service = tally();
    for (let i = 0; i < 3; i++) await call(guards[i % 2]!, 'light', 'other', service, 'service');
    expect(service).toMatchObject({ ok: 2, refused: 1 }); // the kept 2, then the whole budget is used
  } finally {
    for (const s of stores) await s.close();
    await cluster.stop();
  }
}, 60_000);

test('through the app: /api/xt calls count against the person and the people, /v1 calls may use the kept slice', async () => {
  const KEY = 'backend-key-0123456789abcdef0123456789';
  // 4 calls a minute: people 2 together, one person 2, the institution 2 of its own.
  const env = { XT_API_IP_LIMIT: '4', XT_API_PERSON_SHARE: '0.5', XT_API_SERVICE_SHARE: '0.5', XT_API_QUEUE_WAIT: '0' };
  const h = await startHarness({ env: linkEnv({ SERVICE_API_KEYS: `backend:${KEY}`, ...env }) });
  try {
    expect((await connectXt(h.agent, { link: await linkToken('user-1') })).status).toBe(303);
    const viaPage = () => h.agent.get('/api/xt/spot/v4/open-order');
    const viaService = () =>
      request(h.built.app).get('/v1/subjects/user-1/xt/spot/v4/open-order').set('Authorization', `Bearer ${KEY}`);
    for (let i = 0; i < 2; i++) expect((await viaPage()).status).toBe(200);
    const third = await viaPage();
    expect(third.status).toBe(429);
    expect((third.body as { error: { code: string } }).error.code).toBe('rate_limited');
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(50); // the person's share frees a minute after it was used
    // The institution's slice is still there, for the same person's account...
    for (let i = 0; i < 2; i++) expect((await viaService()).status).toBe(200);
    // ...and then the whole budget is used.
    expect((await viaService()).status).toBe(429);
  } finally {
    await h.close();
  }
});
