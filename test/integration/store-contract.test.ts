/**
 * One contract for every store, run against memory, a real SQLite file, a real redis-server and a
 * real local Redis Cluster of 3 masters (as oauth2-proxy runs one session-store suite over every
 * store). New store behaviour goes into this suite first.
 */
import type { SessionData, Store } from 'express-session';
import { pino } from 'pino';
import { createMemoryStores } from '../../src/store/memory/index.js';
import { createRedisStores } from '../../src/store/redis/index.js';
import { holderSuffix } from '../../src/store/holder.js';
import { type SqliteStores, createSqliteStores, sweepExpired } from '../../src/store/sqlite/index.js';
import type { AuthStore, ClaimedEvent, Outbox, OutboxEvent, Stores } from '../../src/store/types.js';
import { tempDir } from '../helpers/harness.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { type RedisCluster, startRedisCluster } from '../helpers/redisCluster.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SESSION_TTL_MS = 60_000;

let redis: RedisServer | undefined;
let cluster: RedisCluster | undefined;
afterAll(async () => {
  await redis?.stop();
  await cluster?.stop();
});

/** Where each store keeps its data (a SQLite directory, a Redis prefix), so a twin can open the same. */
const places = new WeakMap<Stores, string>();
function placed(stores: Stores, place: string): Stores {
  places.set(stores, place);
  return stores;
}

/** Each kind opens new stores, or with `twin`, a second instance on the same data (memory: the same one). */
const kinds: [string, (twin?: Stores) => Promise<Stores>][] = [
  ['memory', async (twin) => twin ?? createMemoryStores()],
  [
    'sqlite',
    async (twin) => {
      const dir = (twin && places.get(twin)) ?? tempDir();
      return placed(createSqliteStores({ dataDir: dir, ttlMs: SESSION_TTL_MS }), dir);
    },
  ],
  [
    'redis',
    async (twin) => {
      redis ??= await startRedis();
      const prefix = (twin && places.get(twin)) ?? `contract-${Date.now()}-${Math.random()}:`;
      return placed(await createRedisStores({ url: redis.url, ttlMs: SESSION_TTL_MS, logger: pino({ level: 'silent' }), prefix }), prefix);
    },
  ],
  [
    'redis-cluster',
    async (twin) => {
      cluster ??= await startRedisCluster();
      const prefix = (twin && places.get(twin)) ?? `contract-${Date.now()}-${Math.random()}:`;
      const redisConfig = { mode: 'cluster' as const, nodes: cluster.nodes, tls: false };
      return placed(await createRedisStores({ redis: redisConfig, ttlMs: SESSION_TTL_MS, logger: pino({ level: 'silent' }), prefix }), prefix);
    },
  ],
];

/** Outbox events with readable ids and increasing creation times. */
let created = 1_700_000_000_000;
const event = (group: string, name: string, createdAt = ++created): OutboxEvent => ({ id: `msg_${name}`, group, value: `sealed-${name}`, createdAt });
const ids = (claimed: ClaimedEvent[]) => claimed.map((e) => e.id);

/** Claims and finishes events until none is left: every id, in the order delivered. */
async function drain(outbox: Outbox): Promise<string[]> {
  const out: string[] = [];
  for (let batch = await outbox.claim(10, 60_000); batch.length > 0; batch = await outbox.claim(10, 60_000)) {
    for (const e of batch) await outbox.done(e.id, e.lease);
    out.push(...ids(batch));
  }
  return out;
}

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

    test('counted per provider (on a cluster: over every master)', async () => {
      for (let i = 0; i < 12; i++) await a.putConnection(`owner-${i}`, i % 4 ? 'xt' : 'oidc', 'v', 60_000);
      expect(await a.countConnections('xt')).toBe(9);
      expect(await a.countConnections('oidc')).toBe(3);
      expect(await a.countConnections('none')).toBe(0);
    });

    test('an expired one is gone, and cannot be replaced', async () => {
      await a.putConnection('o1', 'xt', 'v1', 150);
      await sleep(250);
      expect(await a.getConnection('o1', 'xt')).toBeNull();
      expect(await a.replaceConnection('o1', 'xt', 'v2', 60_000)).toBe(false);
    });

    test('compare-and-delete: only the value that was read, with its event', async () => {
      await a.putConnection('o1', 'oidc', 'v1', 60_000);
      expect(await a.deleteConnection('o1', 'oidc', event('o1', 'cad-lost'), 'stale')).toBe(false);
      expect(await a.getConnection('o1', 'oidc')).toBe('v1');
      expect(await a.deleteConnection('o1', 'oidc', event('o1', 'cad-won'), 'v1')).toBe(true);
      expect(await a.getConnection('o1', 'oidc')).toBeNull();
      expect(await a.deleteConnection('o1', 'oidc', event('o1', 'cad-gone'), 'v1')).toBe(false);
      expect(await drain(stores.outbox)).toEqual(['msg_cad-won']);
    });

    test('two racing compare-and-delete calls: exactly one deletes', async () => {
      await a.putConnection('o1', 'oidc', 'v1', 60_000);
      const results = await Promise.all([a.deleteConnection('o1', 'oidc', undefined, 'v1'), a.deleteConnection('o1', 'oidc', undefined, 'v1')]);
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('the back-channel logout index', () => {
    test('add, read, remove; each key its own set', async () => {
      expect(await a.readIndex('bcl:sid:1')).toEqual([]);
      await a.addToIndex('bcl:sid:1', 'owner-a', 60_000, 10);
      await a.addToIndex('bcl:sid:1', 'owner-b', 60_000, 10);
      await a.addToIndex('bcl:sid:1', 'owner-a', 60_000, 10); // again: still one member
      await a.addToIndex('bcl:sub:1', 'owner-c', 60_000, 10);
      expect((await a.readIndex('bcl:sid:1')).sort()).toEqual(['owner-a', 'owner-b']);
      expect(await a.readIndex('bcl:sub:1')).toEqual(['owner-c']);
      await a.removeFromIndex('bcl:sid:1', 'owner-a');
      await a.removeFromIndex('bcl:sid:1', 'not-there');
      expect(await a.readIndex('bcl:sid:1')).toEqual(['owner-b']);
      await a.removeFromIndex('bcl:sid:1', 'owner-b');
      expect(await a.readIndex('bcl:sid:1')).toEqual([]);
    });

    test('each member expires on its own; adding again moves its expiry', async () => {
      await a.addToIndex('bcl:sub:2', 'short', 150, 10);
      await a.addToIndex('bcl:sub:2', 'long', 60_000, 10);
      await a.addToIndex('bcl:sub:2', 'renewed', 150, 10);
      await a.addToIndex('bcl:sub:2', 'renewed', 60_000, 10);
      await sleep(250);
      expect((await a.readIndex('bcl:sub:2')).sort()).toEqual(['long', 'renewed']);
      await a.addToIndex('bcl:sub:3', 'gone', 150, 10);
      await sleep(250);
      expect(await a.readIndex('bcl:sub:3')).toEqual([]);
    });

    test('at most `max` members: those expiring soonest go first', async () => {
      for (let i = 0; i < 5; i++) await a.addToIndex('bcl:sub:4', `m${i}`, 60_000 + i * 1000, 3);
      expect((await a.readIndex('bcl:sub:4')).sort()).toEqual(['m2', 'm3', 'm4']);
    });

    test('shared by every instance on the same data', async () => {
      const twin = await create(stores);
      try {
        await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? twin.authState : a).addToIndex('bcl:sid:5', `owner-${i}`, 60_000, 100)));
        expect((await twin.authState.readIndex('bcl:sid:5')).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `owner-${i}`).sort());
        await twin.authState.removeFromIndex('bcl:sid:5', 'owner-0');
        expect(await a.readIndex('bcl:sid:5')).toHaveLength(9);
      } finally {
        if (twin !== stores) await twin.close();
      }
    });
  });

  describe('back-channel logout tombstones', () => {
    test('none: 0; each key asked for, in order; another key is not asked', async () => {
      expect(await a.logoutTombstones([])).toEqual([]);
      expect(await a.logoutTombstones(['bcl:sid:t1', 'bcl:sub:t1'])).toEqual([0, 0]);
      await a.putLogoutTombstone('bcl:sid:t1', 1_700_000_000_123, 60_000);
      await a.putLogoutTombstone('bcl:sub:t1', 1_700_000_000_456, 60_000);
      await a.putLogoutTombstone('bcl:sub:other', 1_800_000_000_000, 60_000);
      expect(await a.logoutTombstones(['bcl:sid:t1'])).toEqual([1_700_000_000_123]);
      expect(await a.logoutTombstones(['bcl:sid:t1', 'bcl:sub:t1', 'bcl:sid+sub:t1'])).toEqual([1_700_000_000_123, 1_700_000_000_456, 0]);
    });

    test('a later logout moves the time on, an earlier one never back', async () => {
      await a.putLogoutTombstone('bcl:sub:t2', 1_700_000_000_500, 60_000);
      await a.putLogoutTombstone('bcl:sub:t2', 1_700_000_000_100, 60_000);
      expect(await a.logoutTombstones(['bcl:sub:t2'])).toEqual([1_700_000_000_500]);
      await a.putLogoutTombstone('bcl:sub:t2', 1_700_000_000_900, 60_000);
      expect(await a.logoutTombstones(['bcl:sub:t2'])).toEqual([1_700_000_000_900]);
    });

    test('kept for its TTL, which a shorter one does not cut; then gone', async () => {
      await a.putLogoutTombstone('bcl:sid:t3', 1_700_000_000_000, 60_000);
      await a.putLogoutTombstone('bcl:sid:t3', 1_700_000_000_000, 150);
      await a.putLogoutTombstone('bcl:sid:t4', 1_700_000_000_000, 150);
      await sleep(250);
      expect(await a.logoutTombstones(['bcl:sid:t3'])).toEqual([1_700_000_000_000]);
      expect(await a.logoutTombstones(['bcl:sid:t4'])).toEqual([0]);
    });

    test('unbounded: 1,000 keys each keep their own', async () => {
      await Promise.all(Array.from({ length: 1000 }, (_, i) => a.putLogoutTombstone(`bcl:sid:many-${i}`, 1_700_000_000_000 + i, 60_000)));
      for (const i of [0, 499, 999]) expect(await a.logoutTombstones([`bcl:sid:many-${i}`])).toEqual([1_700_000_000_000 + i]);
    });

    test('shared by every instance on the same data, racing logouts keep the latest', async () => {
      const twin = await create(stores);
      try {
        await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? twin.authState : a).putLogoutTombstone('bcl:sub:t5', 1_700_000_000_000 + i, 60_000)));
        expect(await twin.authState.logoutTombstones(['bcl:sub:t5'])).toEqual([1_700_000_000_009]);
        expect(await a.logoutTombstones(['bcl:sub:t5'])).toEqual([1_700_000_000_009]);
      } finally {
        if (twin !== stores) await twin.close();
      }
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

  describe('outbox and marks', () => {
    let o: Outbox;
    beforeEach(() => {
      o = stores.outbox;
    });
    /** A connection write of its own (owner = group) carrying one event. */
    const put = (group: string, name: string, createdAt?: number) => a.putConnection(group, `p-${name}`, 'v', 60_000, event(group, name, createdAt));

    test('an event is written with the connection change, and only when the write happens', async () => {
      const put1 = event('o1', 'put');
      await a.putConnection('o1', 'xt', 'v1', 60_000, put1);
      expect(await a.replaceConnection('o1', 'xt', 'v2', 60_000, 'stale', event('o1', 'cas-lost'))).toBe(false);
      expect(await a.replaceConnection('o1', 'xt', 'v2', 60_000, 'v1', event('o1', 'cas-won'))).toBe(true);
      expect(await a.replaceConnection('o1', 'gone', 'v', 60_000, undefined, event('o1', 'replace-missing'))).toBe(false);
      expect(await a.replaceConnection('o1', 'xt', 'v3', 60_000, undefined, event('o1', 'replace'))).toBe(true);
      expect(await a.deleteConnection('o1', 'gone', event('o1', 'delete-missing'))).toBe(false);
      expect(await a.deleteConnection('o1', 'xt', event('o1', 'delete'))).toBe(true);
      expect(await a.getConnection('o1', 'xt')).toBeNull();
      expect(await a.deleteConnection('o1', 'xt')).toBe(false);
      expect((await o.stats()).pending).toBe(4);
      const [first] = await o.claim(10, 60_000);
      expect(first).toEqual(expect.objectContaining({ ...put1, attempts: 0 }));
      expect(first!.lease).toEqual(expect.any(String));
      await o.done(first!.id, first!.lease);
      expect(await drain(o)).toEqual(['msg_cas-won', 'msg_replace', 'msg_delete']);
    });

    test('an expired record deletes as none: no event', async () => {
      await a.putConnection('o1', 'xt', 'v1', 150);
      await sleep(250);
      expect(await a.deleteConnection('o1', 'xt', event('o1', 'delete-expired'))).toBe(false);
      expect((await o.stats()).pending).toBe(0);
    });

    test('per group: only the head, in order; a backing-off head blocks its group only', async () => {
      for (const name of ['A1', 'A2', 'A3']) await put('A', name);
      await put('B', 'B1');
      const first = await o.claim(10, 60_000);
      expect(ids(first)).toEqual(['msg_A1', 'msg_B1']);
      expect(await o.claim(10, 60_000)).toEqual([]); // both heads are leased
      const [a1, b1] = first as [ClaimedEvent, ClaimedEvent];
      await o.retry(a1.id, a1.lease, Date.now() + 400);
      await put('B', 'B2');
      await o.done(b1.id, b1.lease);
      const b2 = await o.claim(10, 60_000);
      expect(ids(b2)).toEqual(['msg_B2']); // A waits for its head's next attempt; B goes on
      await o.done(b2[0]!.id, b2[0]!.lease);
      expect(await o.claim(10, 60_000)).toEqual([]);
      await sleep(450);
      const again = await o.claim(10, 60_000);
      expect(again).toEqual([expect.objectContaining({ id: 'msg_A1', attempts: 1 })]);
      await o.done(again[0]!.id, again[0]!.lease);
      expect(await drain(o)).toEqual(['msg_A2', 'msg_A3']);
    });

    test('claims at most `max` heads', async () => {
      for (const g of ['g1', 'g2', 'g3']) await put(g, g);
      expect(ids(await o.claim(2, 60_000))).toEqual(['msg_g1', 'msg_g2']);
      expect(ids(await o.claim(2, 60_000))).toEqual(['msg_g3']);
    });

    test('a lease holds the head until it runs out; only the current lease finishes it', async () => {
      await put('A', 'A1');
      const [old] = await o.claim(10, 200);
      expect(await o.claim(10, 200)).toEqual([]);
      await sleep(300);
      const [cur] = await o.claim(10, 60_000);
      expect(cur).toEqual(expect.objectContaining({ id: 'msg_A1', attempts: 0 }));
      expect(cur!.lease).not.toBe(old!.lease);
      await o.done(old!.id, old!.lease); // taken over: nothing happens
      await o.retry(old!.id, old!.lease, 0);
      await o.done(cur!.id, 'not-the-lease');
      await o.retry(cur!.id, 'not-the-lease', 0);
      expect((await o.stats()).pending).toBe(1);
      expect(await o.claim(10, 60_000)).toEqual([]); // still held by `cur`
      await o.done(cur!.id, cur!.lease);
      expect(await o.stats()).toEqual({ pending: 0 });
    });

    test('failed attempts are counted', async () => {
      await put('A', 'A1');
      for (let n = 0; n < 3; n++) {
        const [e] = await o.claim(10, 60_000);
        expect(e?.attempts).toBe(n);
        await o.retry(e!.id, e!.lease, Date.now() - 1);
      }
      expect((await o.claim(10, 60_000))[0]?.attempts).toBe(3);
    });

    test('stats: how many are pending, and the oldest', async () => {
      expect(await o.stats()).toEqual({ pending: 0 });
      await put('A', 'A1', 5000);
      await put('B', 'B1', 2000);
      await put('A', 'A2', 9000);
      expect(await o.stats()).toEqual({ pending: 3, oldestCreatedAt: 2000 });
      const claimed = await o.claim(10, 60_000);
      const b1 = claimed.find((e) => e.id === 'msg_B1')!;
      await o.done(b1.id, b1.lease);
      expect(await o.stats()).toEqual({ pending: 2, oldestCreatedAt: 5000 });
    });

    test('two instances claiming at once never get the same event, nor two of one group', async () => {
      const twin = await create(stores);
      try {
        for (let i = 0; i < 24; i++) await put(`g${i % 8}`, `e${i}`);
        const delivered: string[] = [];
        for (let round = 0; round < 20; round++) {
          const batches = await Promise.all([o.claim(3, 60_000), twin.outbox.claim(3, 60_000)]);
          const all = batches.flat();
          if (all.length === 0) break;
          expect(new Set(all.map((e) => e.group)).size).toBe(all.length);
          for (const e of all) await o.done(e.id, e.lease);
          delivered.push(...ids(all));
        }
        expect([...delivered].sort()).toEqual(Array.from({ length: 24 }, (_, i) => `msg_e${i}`).sort());
        for (let g = 0; g < 8; g++) {
          const order = delivered.filter((id) => Number(id.slice(5)) % 8 === g);
          expect(order).toEqual([...order].sort((x, y) => Number(x.slice(5)) - Number(y.slice(5))));
        }
      } finally {
        if (twin !== stores) await twin.close();
      }
    });

    test('markOnce: exactly one winner among concurrent callers, also across instances', async () => {
      const twin = await create(stores);
      try {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? twin.authState : a).markOnce('link:1', 60_000)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await a.hasMark('link:1')).toBe(true);
        expect(await twin.authState.hasMark('link:1')).toBe(true);
        expect(await a.hasMark('link:2')).toBe(false);
      } finally {
        if (twin !== stores) await twin.close();
      }
    });

    test('a mark expires', async () => {
      expect(await a.markOnce('short', 150)).toBe(true);
      expect(await a.markOnce('short', 150)).toBe(false);
      await sleep(250);
      expect(await a.hasMark('short')).toBe(false);
      expect(await a.markOnce('short', 150)).toBe(true);
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

describe('sqlite outbox and marks', () => {
  let stores: SqliteStores;
  beforeEach(() => {
    stores = createSqliteStores({ dataDir: tempDir(), ttlMs: SESSION_TTL_MS });
  });
  afterEach(async () => {
    await stores.close();
  });
  const setLease = (id: string, lease: string) =>
    stores.db.prepare('UPDATE outbox SET lease = ?, lease_until = ? WHERE id = ?').run(lease, Date.now() + 60_000, id);

  test('a lease whose holding process is gone is claimable at once; a live or unnamed holder keeps it', async () => {
    await stores.authState.putConnection('o1', 'xt', 'v', 60_000, event('o1', 'held'));
    const [claimed] = await stores.outbox.claim(10, 60_000);
    expect(claimed!.lease.endsWith(holderSuffix)).toBe(true);
    expect(await stores.outbox.claim(10, 60_000)).toEqual([]); // this process: alive
    setLease('msg_held', '0123456789abcdef'); // names no process: only its lease counts
    expect(await stores.outbox.claim(10, 60_000)).toEqual([]);
    // Our PID with another start time: an earlier process that had our number (see holder.test.ts).
    const [, , boot, ns, pid] = holderSuffix.split('.');
    setLease('msg_held', `dead.h1.${boot}.${ns}.${pid}.1`);
    expect(ids(await stores.outbox.claim(10, 60_000))).toEqual(['msg_held']);
  });

  test('the sweep deletes expired marks, logout index entries and logout tombstones, never outbox events', async () => {
    await stores.authState.putConnection('o1', 'xt', 'v', 60_000, event('o1', 'kept'));
    await stores.authState.markOnce('short', 100);
    await stores.authState.markOnce('long', 600_000);
    await stores.authState.addToIndex('bcl:sid:x', 'short', 100, 10);
    await stores.authState.addToIndex('bcl:sid:x', 'long', 600_000, 10);
    await stores.authState.putLogoutTombstone('bcl:sid:short', 1, 100);
    await stores.authState.putLogoutTombstone('bcl:sid:long', 1, 600_000);
    sweepExpired(stores.db, Date.now() + 1000);
    expect(stores.db.prepare('SELECT key FROM marks').all()).toEqual([{ key: 'long' }]);
    expect(stores.db.prepare('SELECT member FROM logout_index').all()).toEqual([{ member: 'long' }]);
    expect(stores.db.prepare('SELECT key FROM logout_tombstones').all()).toEqual([{ key: 'bcl:sid:long' }]);
    expect((await stores.outbox.stats()).pending).toBe(1);
  });

  test('an existing file without the outbox tables is upgraded', async () => {
    const dir = tempDir();
    const old = createSqliteStores({ dataDir: dir, ttlMs: SESSION_TTL_MS });
    old.db.exec('DROP TABLE outbox; DROP TABLE marks; DROP TABLE logout_index; DROP TABLE logout_tombstones;');
    await old.close();
    const upgraded = createSqliteStores({ dataDir: dir, ttlMs: SESSION_TTL_MS });
    try {
      expect(await upgraded.authState.markOnce('k', 60_000)).toBe(true);
      expect(await upgraded.outbox.stats()).toEqual({ pending: 0 });
      await upgraded.authState.addToIndex('k', 'm', 60_000, 10);
      expect(await upgraded.authState.readIndex('k')).toEqual(['m']);
      await upgraded.authState.putLogoutTombstone('k', 5, 60_000);
      expect(await upgraded.authState.logoutTombstones(['k'])).toEqual([5]);
    } finally {
      await upgraded.close();
    }
  });
});
