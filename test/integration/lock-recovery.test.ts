/**
 * Refresh locks held by other processes, in one process: locks planted in the store stand for
 * other processes' (a dead holder's lease, a live slow holder), and the stores' lease and
 * compare-and-set primitives. The app runs the lease logic with its timings scaled down
 * (AppOptions.timing). The real timings, and a real crash (SIGKILL of the server while
 * refreshes are in flight), are in test/integration/sigkill-sqlite.test.ts and
 * sigkill-redis.test.ts (test/helpers/sigkill.ts).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT } from '../../src/app.js';
import {
  LOCK_LEASE_MS,
  LOCK_RENEW_MS,
  type LockTiming,
  REFRESH_WAIT_MS,
  refreshLockKey,
} from '../../src/session/connections/index.js';
import { createSqliteStores } from '../../src/store/sqlite/index.js';
import type { AuthStore } from '../../src/store/types.js';
import { type TestClock, scaledLockTiming, testClock } from '../helpers/clock.js';
import { type Harness, connectXt, startHarness, tempDir, sessionJson } from '../helpers/harness.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let redis: RedisServer | undefined;
afterAll(async () => {
  await redis?.stop();
});

/**
 * In one process: a lock planted in the store stands for another process's. Planted and never
 * renewed, it is a dead holder's; renewed by the test, a live holder's (a slow refresh elsewhere).
 * The lease logic runs with its timings scaled down (T), the ratios kept: renewal a third of the
 * lease, the wait longer than the lease.
 */
// (The memory store is one process's: test/unit/connections-lease.test.ts covers it with two Connections.)
const T: LockTiming = scaledLockTiming({
  lockLeaseMs: LOCK_LEASE_MS,
  lockRenewMs: LOCK_RENEW_MS,
  refreshWaitMs: REFRESH_WAIT_MS,
});

describe.each(['sqlite', 'redis'] as const)('refresh locks held elsewhere (%s)', (store) => {
  let h: Harness;
  let clock: TestClock;
  let lockKey: string;
  afterEach(async () => {
    await h?.close();
  });

  async function setup() {
    clock = testClock();
    const env: Record<string, string> = {
      PROVIDER_TIMEOUT: '10s',
      ...(store === 'sqlite'
        ? { SESSION_STORE: 'sqlite', DATA_DIR: tempDir('xtc-lock-') }
        : { SESSION_STORE: 'redis', REDIS_URL: (redis ??= await startRedis()).url }),
    };
    // The session's lock key, from the owner id the app reports at login (AppOptions.onConnected).
    h = await startHarness({
      xt: { accessTtlSec: 600, now: clock.now },
      env,
      app: { now: clock.now, timing: T, onConnected: (owner, provider) => (lockKey = refreshLockKey(owner, provider)) },
    });
    const auth: AuthStore = h.built.ctx.stores.authState;
    expect((await connectXt(h.agent)).status).toBe(303);
    clock.advance(601_000);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(1);
    return auth;
  }

  async function timedSession() {
    const started = performance.now();
    const res = await h.agent.get('/api/session');
    return { res, ms: performance.now() - started };
  }

  test('a lock its holder stopped renewing (the holder died) is taken over within the lease', async () => {
    const auth = await setup();
    clock.advance(601_000);
    expect(await auth.acquireLock(lockKey, T.lockLeaseMs)).not.toBeNull(); // left behind, never renewed
    const { res, ms } = await timedSession();
    expect(res.status).toBe(200);
    expect(sessionJson(res).connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(2);
    expect(ms).toBeLessThan(T.lockLeaseMs + 1000);
  });

  test('a live holder elsewhere: after REFRESH_WAIT_MS, the still-valid token; once expired, 503 with Retry-After', async () => {
    const auth = await setup();
    // The holder renews its lease as a live process would (the clock only moves between requests).
    const holdElsewhere = async () => {
      const token = (await auth.acquireLock(lockKey, T.lockLeaseMs))!;
      expect(token).not.toBeNull();
      const renew = setInterval(() => void auth.extendLock(lockKey, token, T.lockLeaseMs), T.lockRenewMs);
      return async () => {
        clearInterval(renew);
        await auth.releaseLock(lockKey, token);
      };
    };

    clock.advance(600_000 - 30_000); // stale (inside the refresh window) but still valid
    let stop = await holdElsewhere();
    try {
      const valid = await timedSession();
      expect(valid.res.status).toBe(200);
      expect(sessionJson(valid.res).connected).toBe(true);
      expect(valid.ms).toBeGreaterThanOrEqual(T.refreshWaitMs - 100);
      expect(valid.ms).toBeLessThan(T.refreshWaitMs + 1000);
    } finally {
      await stop();
    }

    clock.advance(60_000); // expired
    stop = await holdElsewhere();
    try {
      const expired = await timedSession();
      expect(expired.res.status).toBe(503);
      expect(expired.res.headers['retry-after']).toBeDefined();
      expect(sessionJson(expired.res).providers.xt.reason).toBe('provider_unavailable');
      expect(expired.ms).toBeGreaterThanOrEqual(T.refreshWaitMs - 100);
      expect(expired.ms).toBeLessThan(T.refreshWaitMs + 1000);
      const page = await h.agent.get('/account');
      expect(page.status).toBe(503);
      expect(page.headers['retry-after']).toBeDefined();
      expect(h.xt.calls.refresh_token).toBe(1); // nobody called the provider beside the holder
    } finally {
      await stop();
    }
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(2);
  });

  test('a refresh slower than the lease keeps its lock: 20 concurrent requests, one refresh call', async () => {
    await setup();
    h.xt.options.tokenDelayMs = T.refreshWaitMs + 300; // longer than the lease, and than anybody waits
    clock.advance(601_000);
    const results = await Promise.all(Array.from({ length: 20 }, () => h.agent.get('/api/session')));
    expect(h.xt.calls.refresh_token).toBe(2);
    // Who waited past the wait (T.refreshWaitMs) had no valid token left: 503 with Retry-After, never another call.
    for (const r of results)
      expect(r.status === 200 || (r.status === 503 && r.headers['retry-after'] !== undefined)).toBe(true);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(2);
  });
});

describe('stores: leases and compare-and-set', () => {
  const stores: Record<string, () => Promise<{ authState: AuthStore; close(): Promise<void> }>> = {
    memory: async () => {
      const { createMemoryStores } = await import('../../src/store/memory/index.js');
      return createMemoryStores();
    },
    sqlite: async () => createSqliteStores({ dataDir: tempDir('xtc-lock-'), ttlMs: 60_000 }),
    redis: async () => {
      const { createRedisStores } = await import('../../src/store/redis/index.js');
      const { pino } = await import('pino');
      return createRedisStores({
        url: (redis ??= await startRedis()).url,
        ttlMs: 60_000,
        logger: pino({ level: 'silent' }),
        prefix: `xtc-lease-${Date.now()}:`,
      });
    },
  };

  test.each(Object.keys(stores))(
    '%s: extendLock only for the owner; replaceConnection with `expected` only over that value',
    async (kind) => {
      const s = await stores[kind]!();
      try {
        const t = (await s.authState.acquireLock('k', 300))!;
        expect(t).not.toBeNull();
        expect(await s.authState.extendLock('k', 'not-the-token', 5000)).toBe(false);
        expect(await s.authState.extendLock('k', t, 5000)).toBe(true);
        await sleep(400); // past the first TTL: the extension holds it
        expect(await s.authState.acquireLock('k', 300)).toBeNull();
        await s.authState.releaseLock('k', t);
        const u = (await s.authState.acquireLock('k', 200))!;
        await sleep(300);
        expect(await s.authState.extendLock('k', u, 5000)).toBe(false); // lapsed: no revival
        const v = await s.authState.acquireLock('k', 5000);
        expect(v).not.toBeNull();
        expect(await s.authState.extendLock('k', u, 5000)).toBe(false); // taken over: not the owner any more

        expect(await s.authState.replaceConnection('o', 'xt', 'b', 60_000, 'a')).toBe(false); // nothing stored
        await s.authState.putConnection('o', 'xt', 'a', 60_000);
        expect(await s.authState.replaceConnection('o', 'xt', 'b', 60_000, 'stale')).toBe(false);
        expect(await s.authState.getConnection('o', 'xt')).toBe('a');
        expect(await s.authState.replaceConnection('o', 'xt', 'b', 60_000, 'a')).toBe(true);
        expect(await s.authState.getConnection('o', 'xt')).toBe('b');
        expect(await s.authState.replaceConnection('o', 'xt', 'c', 60_000)).toBe(true); // without `expected`: as before
        await s.authState.deleteConnection('o', 'xt');
        expect(await s.authState.replaceConnection('o', 'xt', 'd', 60_000)).toBe(false);
      } finally {
        await s.close();
      }
    },
  );

  test('sqlite: a lock whose holder process is gone is taken over at once; a live holder keeps it', async () => {
    const dir = tempDir('xtc-lock-');
    const script = `import { createSqliteStores } from ${JSON.stringify(path.join(ROOT, 'src/store/sqlite/index.ts'))};
const s = createSqliteStores({ dataDir: ${JSON.stringify(dir)}, ttlMs: 60000 });
const t = await s.authState.acquireLock('refresh:o:xt', 60000);
process.stdout.write(t ? 'locked\\n' : 'busy\\n');
setInterval(() => {}, 1000);`;
    const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((r) => holder.once('exit', r));
    const s = createSqliteStores({ dataDir: dir, ttlMs: 60_000 });
    try {
      let said = '';
      holder.stdout.on('data', (d: Buffer) => (said += d.toString()));
      holder.stderr.on('data', (d: Buffer) => (said += d.toString()));
      for (let i = 0; i < 400 && !said.includes('locked'); i++) await sleep(25);
      expect(said).toContain('locked');
      expect(await s.authState.acquireLock('refresh:o:xt', LOCK_LEASE_MS)).toBeNull(); // alive: its lease stands (60 s)
      holder.kill('SIGKILL');
      await exited;
      const started = performance.now();
      expect(await s.authState.acquireLock('refresh:o:xt', LOCK_LEASE_MS)).not.toBeNull(); // gone: at once
      expect(performance.now() - started).toBeLessThan(100);
      // A token that names no process (older versions, other systems) is only a lease.
      const db = s.db;
      db.prepare('UPDATE locks SET token = ?, expires = ? WHERE key = ?').run(
        '0123456789abcdef',
        Date.now() + 60_000,
        'refresh:o:xt',
      );
      expect(await s.authState.acquireLock('refresh:o:xt', LOCK_LEASE_MS)).toBeNull();
    } finally {
      holder.kill('SIGKILL');
      await s.close();
    }
  }, 30_000);
});
