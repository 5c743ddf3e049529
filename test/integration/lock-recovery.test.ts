/**
 * Refresh locks after a crash: the real server runs as a child process and is killed with
 * SIGKILL while refreshes are in flight, then started again on the same store. The first
 * request of every session must not stall behind the dead process's locks (p99 < 5 s), must
 * never be a 5xx other than 503-with-Retry-After, and a connection whose refresh token the
 * provider rotated just before the crash must show "reconnect", never an error page.
 *
 * The XT.COM stand-in runs here, in the test process, and rotates strictly. At the moment of
 * the kill, HANG of the refresh calls hang at the provider (it never acts on them, so their
 * refresh tokens still work) and the others have been answered by the provider (rotated) but
 * the answer is held back, so the dying process never receives it.
 *
 * Below that, in one process: locks planted in the store stand for other processes' (a dead
 * holder's lease, a live slow holder), and the stores' lease and compare-and-set primitives.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import request from 'supertest';
import { ROOT } from '../../src/app.js';
import { LOCK_LEASE_MS, REFRESH_WAIT_MS } from '../../src/session/connections.js';
import { createSqliteStores } from '../../src/session/stores/sqlite.js';
import type { AuthStore } from '../../src/session/stores/types.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { freePort } from '../helpers/browser.js';
import { type AppChild, appChild } from '../helpers/child.js';
import { type Harness, TEST_SECRET, assertNoSecrets, connectXt, startHarness, tempDir, testClock, xtEnv } from '../helpers/harness.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

const SESSIONS = 30;
const HANG = 10;
const CONNECT_TTL_SEC = 3; // access tokens issued at login expire quickly, so every session needs a refresh
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sidCookie = (res: request.Response) => ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => /^(xtc\.sid|__Host-xtc)=/.test(c))!.split(';')[0]!;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

let redis: RedisServer | undefined;
let xt: XtStandIn | undefined;
let child: AppChild | undefined;

afterEach(async () => {
  await child?.kill();
  child = undefined;
  await xt?.close();
  xt = undefined;
});
afterAll(async () => {
  await redis?.stop();
});

async function timed(url: string, cookie: string) {
  const started = performance.now();
  const res = await fetch(url, { headers: { Cookie: cookie, Accept: 'application/json' }, redirect: 'manual' });
  const text = await res.text();
  return { ms: performance.now() - started, status: res.status, retryAfter: res.headers.get('retry-after'), text };
}

describe.each(['sqlite', 'redis'] as const)('SIGKILL during refreshes (%s)', (store) => {
  test(
    'after a restart the first requests do not stall behind dead locks; lost connections ask to reconnect',
    async () => {
      xt = await startXtStandIn({ clientSecret: TEST_SECRET, accessTtlSec: CONNECT_TTL_SEC, rotateRefreshTokens: true });
      const storeEnv: Record<string, string> = store === 'sqlite' ? { SESSION_STORE: 'sqlite', DATA_DIR: tempDir('xtc-lock-') } : { SESSION_STORE: 'redis', REDIS_URL: (redis ??= await startRedis()).url };
      // PROVIDER_TIMEOUT at its default (10 s), as in production.
      const env = { ...xtEnv(xt, { ...storeEnv, LOG_LEVEL: 'info', PROVIDER_TIMEOUT: '10s' }) };
      child = appChild(await freePort(), env);
      await child.start();

      // 1. Connect the sessions while the child is up.
      const cookies: string[] = [];
      for (let i = 0; i < SESSIONS; i += 10) {
        const batch = await Promise.all(Array.from({ length: Math.min(10, SESSIONS - i) }, () => connectXt(request.agent(child!.url))));
        for (const cb of batch) {
          expect(cb.status).toBe(303);
          cookies.push(sidCookie(cb));
        }
      }
      await sleep(CONNECT_TTL_SEC * 1000 + 500); // every access token has now expired
      xt.options.accessTtlSec = 600;

      // 2. Every session refreshes at once (two requests each); kill the child while they are in flight.
      xt.failNext('timeout', HANG, 'refresh_token');
      xt.options.hangMs = 60_000;
      xt.options.answerDelayMs = 60_000;
      const inflight = cookies.flatMap((c) => [timed(`${child!.url}/api/session`, c).catch(() => null), timed(`${child!.url}/api/session`, c).catch(() => null)]);
      for (let i = 0; i < 200 && xt.calls.refresh_token < SESSIONS; i++) await sleep(25);
      expect(xt.calls.refresh_token).toBe(SESSIONS); // single-flight: one call per session
      await child.kill('SIGKILL');
      await Promise.all(inflight);

      // 3. Start again on the same store; the provider now answers normally (in 200 ms).
      xt.options.answerDelayMs = 0;
      xt.options.tokenDelayMs = 200;
      const restartStarted = performance.now();
      await child.start();
      const restartMs = performance.now() - restartStarted;

      // 4. The first request of every session, all at once.
      const first = await Promise.all(cookies.map((c) => timed(`${child!.url}/api/session`, c)));
      const ms = first.map((r) => r.ms).sort((a, b) => a - b);
      const figures = {
        store,
        restartMs: Math.round(restartMs),
        maxMs: Math.round(ms[ms.length - 1]!),
        p99Ms: Math.round(percentile(ms, 99)),
        p50Ms: Math.round(percentile(ms, 50)),
        over5s: ms.filter((m) => m > 5000).length,
        statuses: first.reduce<Record<string, number>>((a, r) => ({ ...a, [r.status]: (a[r.status] ?? 0) + 1 }), {}),
        reasons: first.reduce<Record<string, number>>((a, r) => {
          const b = JSON.parse(r.text) as { connected: boolean; reason?: string };
          const k = b.connected ? 'connected' : (b.reason ?? 'none');
          return { ...a, [k]: (a[k] ?? 0) + 1 };
        }, {}),
      };
      process.stdout.write(`lock-recovery figures ${JSON.stringify(figures)}\n`);

      for (const r of first) {
        expect(r.status === 200 || (r.status === 503 && r.retryAfter !== null)).toBe(true);
      }
      expect(figures.p99Ms).toBeLessThan(5000);
      // The ones that hung at the provider kept a working refresh token; the others were rotated and lost.
      expect(figures.reasons).toEqual({ connected: HANG, refresh_rejected: SESSIONS - HANG });
      expect(xt.calls.refresh_token).toBe(2 * SESSIONS);

      // 5. Pages: never an error page; a lost connection offers Reconnect with the reason.
      const bodies = first.map((r) => JSON.parse(r.text) as { connected: boolean; reason?: string });
      const pages = await Promise.all(cookies.map((c) => timed(`${child!.url}/account`, c)));
      pages.forEach((p, i) => {
        expect(p.status).toBe(200);
        if (!bodies[i]!.connected) {
          expect(p.text).toContain('has ended');
          expect(p.text).toContain('Reconnect XT.COM');
        } else {
          expect(p.text).toContain('USDT');
        }
      });
      assertNoSecrets(child.output(), [TEST_SECRET, ...xt.issued()]);
    },
    180_000,
  );
});

/**
 * In one process: a lock planted in the store stands for another process's. Planted and never
 * renewed, it is a dead holder's; renewed by the test, a live holder's (a slow refresh elsewhere).
 */
// (The memory store is one process's: test/unit/connections-lease.test.ts covers it with two Connections.)
describe.each(['sqlite', 'redis'] as const)('refresh locks held elsewhere (%s)', (store) => {
  let h: Harness;
  let clock: ReturnType<typeof testClock>;
  let lockKey: string;
  afterEach(async () => {
    await h?.close();
  });

  async function setup(xt: Record<string, unknown> = {}) {
    clock = testClock();
    const env: Record<string, string> = {
      PROVIDER_TIMEOUT: '10s',
      ...(store === 'sqlite' ? { SESSION_STORE: 'sqlite', DATA_DIR: tempDir('xtc-lock-') } : { SESSION_STORE: 'redis', REDIS_URL: (redis ??= await startRedis()).url }),
    };
    h = await startHarness({ xt: { accessTtlSec: 600, now: clock.now, ...xt }, env, app: { now: clock.now } });
    // Learn the session's lock key from the first refresh.
    const auth: AuthStore = h.built.ctx.stores.authState;
    const acquire = auth.acquireLock.bind(auth);
    auth.acquireLock = (key, ttl) => {
      if (key.startsWith('refresh:')) lockKey = key;
      return acquire(key, ttl);
    };
    expect((await connectXt(h.agent)).status).toBe(303);
    clock.advance(601_000);
    expect((await h.agent.get('/api/session')).body.connected).toBe(true);
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
    expect(await auth.acquireLock(lockKey, LOCK_LEASE_MS)).not.toBeNull(); // left behind, never renewed
    const { res, ms } = await timedSession();
    expect(res.status).toBe(200);
    expect(res.body.connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(2);
    expect(ms).toBeLessThan(LOCK_LEASE_MS + 1000);
  });

  test('a live holder elsewhere: after REFRESH_WAIT_MS, the still-valid token; once expired, 503 with Retry-After', async () => {
    const auth = await setup();
    // The holder renews its lease as a live process would (the clock only moves between requests).
    const holdElsewhere = async () => {
      const token = (await auth.acquireLock(lockKey, LOCK_LEASE_MS))!;
      expect(token).not.toBeNull();
      const renew = setInterval(() => void auth.extendLock(lockKey, token, LOCK_LEASE_MS), 500);
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
      expect(valid.res.body.connected).toBe(true);
      expect(valid.ms).toBeGreaterThanOrEqual(REFRESH_WAIT_MS - 100);
      expect(valid.ms).toBeLessThan(5000);
    } finally {
      await stop();
    }

    clock.advance(60_000); // expired
    stop = await holdElsewhere();
    try {
      const expired = await timedSession();
      expect(expired.res.status).toBe(503);
      expect(expired.res.headers['retry-after']).toBeDefined();
      expect(expired.res.body.providers.xt.reason).toBe('provider_unavailable');
      expect(expired.ms).toBeGreaterThanOrEqual(REFRESH_WAIT_MS - 100);
      expect(expired.ms).toBeLessThan(5000);
      const page = await h.agent.get('/account');
      expect(page.status).toBe(503);
      expect(page.headers['retry-after']).toBeDefined();
      expect(h.xt.calls.refresh_token).toBe(1); // nobody called the provider beside the holder
    } finally {
      await stop();
    }
    expect((await h.agent.get('/api/session')).body.connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(2);
  }, 30_000);

  test('a refresh slower than the lease keeps its lock: 20 concurrent requests, one refresh call', async () => {
    await setup({ tokenDelayMs: LOCK_LEASE_MS + 1500 });
    clock.advance(601_000);
    const results = await Promise.all(Array.from({ length: 20 }, () => h.agent.get('/api/session')));
    expect(h.xt.calls.refresh_token).toBe(2);
    // Who waited past REFRESH_WAIT_MS had no valid token left: 503 with Retry-After, never another call.
    for (const r of results) expect(r.status === 200 || (r.status === 503 && r.headers['retry-after'] !== undefined)).toBe(true);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    expect((await h.agent.get('/api/session')).body.connected).toBe(true);
    expect(h.xt.calls.refresh_token).toBe(2);
  }, 30_000);
});

describe('stores: leases and compare-and-set', () => {
  const stores: Record<string, () => Promise<{ authState: AuthStore; close(): Promise<void> }>> = {
    memory: async () => {
      const { createMemoryStores } = await import('../../src/session/stores/memory.js');
      return createMemoryStores();
    },
    sqlite: async () => createSqliteStores({ dataDir: tempDir('xtc-lock-'), ttlMs: 60_000 }),
    redis: async () => {
      const { createRedisStores } = await import('../../src/session/stores/redis.js');
      const { pino } = await import('pino');
      return createRedisStores({ url: (redis ??= await startRedis()).url, ttlMs: 60_000, logger: pino({ level: 'silent' }), prefix: `xtc-lease-${Date.now()}:` });
    },
  };

  test.each(Object.keys(stores))('%s: extendLock only for the owner; replaceConnection with `expected` only over that value', async (kind) => {
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
  });

  test('sqlite: a lock whose holder process is gone is taken over at once; a live holder keeps it', async () => {
    const dir = tempDir('xtc-lock-');
    const script = `import { createSqliteStores } from ${JSON.stringify(path.join(ROOT, 'src/session/stores/sqlite.ts'))};
const s = createSqliteStores({ dataDir: ${JSON.stringify(dir)}, ttlMs: 60000 });
const t = await s.authState.acquireLock('refresh:o:xt', 60000);
process.stdout.write(t ? 'locked\\n' : 'busy\\n');
setInterval(() => {}, 1000);`;
    const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((r) => holder.once('exit', r));
    const s = createSqliteStores({ dataDir: dir, ttlMs: 60_000 });
    try {
      let said = '';
      holder.stdout!.on('data', (d: Buffer) => (said += d.toString()));
      holder.stderr!.on('data', (d: Buffer) => (said += d.toString()));
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
      db.prepare('UPDATE locks SET token = ?, expires = ? WHERE key = ?').run('0123456789abcdef', Date.now() + 60_000, 'refresh:o:xt');
      expect(await s.authState.acquireLock('refresh:o:xt', LOCK_LEASE_MS)).toBeNull();
    } finally {
      holder.kill('SIGKILL');
      await s.close();
    }
  }, 30_000);
});
