/**
 * One contract for every store, run against memory, a real SQLite file and a real redis-server
 * (as oauth2-proxy runs one session-store suite over every store). New store behaviour goes into
 * this suite first.
 */
import type { SessionData, Store } from 'express-session';
import { pino } from 'pino';
import { createMemoryStores } from '../../src/session/stores/memory.js';
import { createRedisStores } from '../../src/session/stores/redis.js';
import { createSqliteStores } from '../../src/session/stores/sqlite.js';
import type { AuthStore, Stores } from '../../src/session/stores/types.js';
import { tempDir } from '../helpers/harness.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SESSION_TTL_MS = 60_000;

let redis: RedisServer | undefined;
afterAll(async () => {
  await redis?.stop();
});

const kinds: [string, () => Promise<Stores>][] = [
  ['memory', async () => createMemoryStores()],
  ['sqlite', async () => createSqliteStores({ dataDir: tempDir(), ttlMs: SESSION_TTL_MS })],
  [
    'redis',
    async () => {
      redis ??= await startRedis();
      return createRedisStores({
        url: redis.url,
        ttlMs: SESSION_TTL_MS,
        logger: pino({ level: 'silent' }),
        prefix: `contract-${Date.now()}-${Math.random()}:`,
      });
    },
  ],
];

const asError = (e: unknown) => (e instanceof Error ? e : new Error('store failed'));

/** express-session's callback API, as promises. */
const sessions = (s: Store) => ({
  set: (sid: string, data: SessionData) => new Promise<void>((res, rej) => s.set(sid, data, (e?: unknown) => (e ? rej(asError(e)) : res()))),
  get: (sid: string) => new Promise<SessionData | null | undefined>((res, rej) => s.get(sid, (e: unknown, d) => (e ? rej(asError(e)) : res(d)))),
  destroy: (sid: string) => new Promise<void>((res, rej) => s.destroy(sid, (e?: unknown) => (e ? rej(asError(e)) : res()))),
  touch: (sid: string, data: SessionData) =>
    new Promise<void>((res, rej) => (s.touch ? s.touch(sid, data, (e?: unknown) => (e ? rej(asError(e)) : res())) : res())),
});
const sessionData = (owner: string, maxAge = SESSION_TTL_MS): SessionData => ({
  cookie: { originalMaxAge: maxAge, maxAge, expires: new Date(Date.now() + maxAge), httpOnly: true, path: '/' },
  owner,
});

describe.each(kinds)('%s store', (_kind, create) => {
  let stores: Stores;
  let a: AuthStore;
  beforeEach(async () => {
    stores = await create();
    a = stores.authState;
  });
  afterEach(async () => {
    await stores.close();
  });

  describe('login transactions', () => {
    test('put, then take exactly once', async () => {
      await a.putTransaction('o1', 't1', 'sealed-1', 60_000, 8);
      expect(await a.countTransactions('o1')).toBe(1);
      expect(await a.takeTransaction('o1', 't1')).toBe('sealed-1');
      expect(await a.takeTransaction('o1', 't1')).toBeNull();
      expect(await a.countTransactions('o1')).toBe(0);
    });

    test('another owner cannot take it', async () => {
      await a.putTransaction('o1', 't1', 'sealed-1', 60_000, 8);
      expect(await a.takeTransaction('o2', 't1')).toBeNull();
      expect(await a.takeTransaction('o1', 't1')).toBe('sealed-1');
    });

    test('at most `max` per owner, the oldest go first', async () => {
      for (let i = 0; i < 5; i++) await a.putTransaction('o1', `t${i}`, `v${i}`, 60_000, 3);
      expect(await a.countTransactions('o1')).toBe(3);
      expect(await a.takeTransaction('o1', 't0')).toBeNull();
      expect(await a.takeTransaction('o1', 't1')).toBeNull();
      expect(await a.takeTransaction('o1', 't4')).toBe('v4');
    });

    test('an expired one is gone', async () => {
      await a.putTransaction('o1', 't1', 'v1', 150, 8);
      await sleep(250);
      expect(await a.takeTransaction('o1', 't1')).toBeNull();
    });

    test('take all: every live one, once, atomically', async () => {
      await a.putTransaction('o1', 't1', 'v1', 60_000, 8);
      await a.putTransaction('o1', 't2', 'v2', 60_000, 8);
      await a.putTransaction('o2', 't3', 'v3', 60_000, 8);
      const [first, second] = await Promise.all([a.takeAllTransactions('o1'), a.takeAllTransactions('o1')]);
      const taken = [...first, ...second].map((t) => [t.id, t.value]).sort();
      expect(taken).toEqual([
        ['t1', 'v1'],
        ['t2', 'v2'],
      ]);
      for (const t of [...first, ...second]) expect(t.expiresAt).toBeGreaterThan(Date.now());
      expect(await a.countTransactions('o1')).toBe(0);
      expect(await a.countTransactions('o2')).toBe(1);
    });
  });

  describe('connections', () => {
    test('put, get, replace only while it exists, delete', async () => {
      expect(await a.getConnection('o1', 'xt')).toBeNull();
      expect(await a.replaceConnection('o1', 'xt', 'v0', 60_000)).toBe(false);
      expect(await a.getConnection('o1', 'xt')).toBeNull(); // replace never creates
      await a.putConnection('o1', 'xt', 'v1', 60_000);
      expect(await a.getConnection('o1', 'xt')).toBe('v1');
      expect(await a.getConnection('o1', 'oidc')).toBeNull();
      expect(await a.replaceConnection('o1', 'xt', 'v2', 60_000)).toBe(true);
      expect(await a.getConnection('o1', 'xt')).toBe('v2');
      await a.deleteConnection('o1', 'xt');
      expect(await a.getConnection('o1', 'xt')).toBeNull();
    });

    test('compare-and-set: only over the value that was read', async () => {
      await a.putConnection('o1', 'xt', 'v1', 60_000);
      expect(await a.replaceConnection('o1', 'xt', 'v2', 60_000, 'stale')).toBe(false);
      expect(await a.getConnection('o1', 'xt')).toBe('v1');
      expect(await a.replaceConnection('o1', 'xt', 'v2', 60_000, 'v1')).toBe(true);
      expect(await a.getConnection('o1', 'xt')).toBe('v2');
    });

    test('two racing compare-and-set writes: exactly one wins', async () => {
      await a.putConnection('o1', 'xt', 'v1', 60_000);
      const results = await Promise.all([a.replaceConnection('o1', 'xt', 'a', 60_000, 'v1'), a.replaceConnection('o1', 'xt', 'b', 60_000, 'v1')]);
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    test('an expired one is gone, and cannot be replaced', async () => {
      await a.putConnection('o1', 'xt', 'v1', 150);
      await sleep(250);
      expect(await a.getConnection('o1', 'xt')).toBeNull();
      expect(await a.replaceConnection('o1', 'xt', 'v2', 60_000)).toBe(false);
    });
  });

  describe('locks', () => {
    test('one holder at a time; release needs the token', async () => {
      const t = await a.acquireLock('k', 60_000);
      expect(t).toEqual(expect.any(String));
      expect(await a.acquireLock('k', 60_000)).toBeNull();
      await a.releaseLock('k', 'not-the-token');
      expect(await a.acquireLock('k', 60_000)).toBeNull();
      await a.releaseLock('k', t!);
      expect(await a.acquireLock('k', 60_000)).toEqual(expect.any(String));
    });

    test('concurrent acquirers: exactly one wins', async () => {
      const tokens = await Promise.all(Array.from({ length: 10 }, () => a.acquireLock('race', 60_000)));
      expect(tokens.filter((t) => t !== null)).toHaveLength(1);
    });

    test('a lease lapses, and only its holder can extend it while it lives', async () => {
      const t = (await a.acquireLock('k', 300))!;
      expect(await a.extendLock('k', 'other', 300)).toBe(false);
      expect(await a.extendLock('k', t, 300)).toBe(true);
      await sleep(450);
      expect(await a.extendLock('k', t, 300)).toBe(false); // lapsed: no revival
      const u = await a.acquireLock('k', 60_000);
      expect(u).toEqual(expect.any(String));
      expect(await a.extendLock('k', t, 300)).toBe(false); // taken over
    });
  });

  describe('sessions (express-session Store)', () => {
    test('set, get, touch, destroy', async () => {
      const s = sessions(stores.sessions);
      await s.set('sid-1', sessionData('owner-1'));
      expect((await s.get('sid-1'))?.owner).toBe('owner-1');
      await s.touch('sid-1', sessionData('owner-1'));
      expect((await s.get('sid-1'))?.owner).toBe('owner-1');
      await s.destroy('sid-1');
      expect(await s.get('sid-1')).toBeFalsy();
    });

    test('a session past its cookie lifetime is gone', async () => {
      const s = sessions(stores.sessions);
      await s.set('sid-2', sessionData('owner-2', 1000));
      expect((await s.get('sid-2'))?.owner).toBe('owner-2');
      await sleep(1300);
      expect(await s.get('sid-2')).toBeFalsy();
    });
  });

  test('ping answers', async () => {
    await expect(a.ping()).resolves.toBeUndefined();
  });
});
