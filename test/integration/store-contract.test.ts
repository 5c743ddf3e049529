/**
 * One contract for every store, run against memory, a real SQLite file, a real redis-server and a
 * real local Redis Cluster of 3 masters (as oauth2-proxy runs one session-store suite over every
 * store). New store behaviour goes into this suite first.
 *
 * The suite is one function per role (store-contract/: transactions, connections and their pages, the logout index
 * and tombstones, locks, the outbox, marks, sessions), each called for every backend below, the way
 * oauth2-proxy's RunSessionStoreTests calls its role suites for each store.
 */
import { pino } from 'pino';
import { createClient } from 'redis';
import { createMemoryStores } from '../../src/store/memory/index.js';
import { createRedisStores, partitionOf } from '../../src/store/redis/index.js';
import { holderSuffix } from '../../src/store/holder.js';
import { type SqliteStores, createSqliteStores, sweepExpired } from '../../src/store/sqlite/index.js';
import type { Stores } from '../../src/store/types.js';
import { tempDir } from '../helpers/harness.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { type RedisCluster, startRedisCluster } from '../helpers/redisCluster.js';
import { connectionPageContract } from './store-contract/connectionPages.js';
import { connectionContract } from './store-contract/connections.js';
import { deadLetterContract } from './store-contract/deadLetters.js';
import { replayContract } from './store-contract/replay.js';
import { forgetContract } from './store-contract/forget.js';
import { deliveryLogContract } from './store-contract/deliveryLog.js';
import { dueIndexContract } from './store-contract/dueIndex.js';
import { type Contract, SESSION_TTL_MS, drain, event, ids, sleep } from './store-contract/helpers.js';
import { lockContract } from './store-contract/locks.js';
import { logoutIndexContract } from './store-contract/logoutIndex.js';
import { markContract } from './store-contract/marks.js';
import { outboxContract } from './store-contract/outbox.js';
import { sessionContract } from './store-contract/sessions.js';
import { transactionContract } from './store-contract/transactions.js';

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
      return placed(
        await createRedisStores({ url: redis.url, ttlMs: SESSION_TTL_MS, logger: pino({ level: 'silent' }), prefix }),
        prefix,
      );
    },
  ],
  [
    'redis-cluster',
    async (twin) => {
      cluster ??= await startRedisCluster();
      const prefix = (twin && places.get(twin)) ?? `contract-${Date.now()}-${Math.random()}:`;
      const redisConfig = { mode: 'cluster' as const, nodes: cluster.nodes, tls: false };
      return placed(
        await createRedisStores({
          redis: redisConfig,
          ttlMs: SESSION_TTL_MS,
          logger: pino({ level: 'silent' }),
          prefix,
        }),
        prefix,
      );
    },
  ],
];

describe.each(kinds)('%s store', (_kind, create) => {
  const ctx: Contract = { stores: undefined as unknown as Stores, create };
  beforeEach(async () => {
    ctx.stores = await create();
  });
  afterEach(async () => {
    await ctx.stores.close();
  });

  transactionContract(ctx);
  connectionContract(ctx);
  connectionPageContract(ctx);
  dueIndexContract(ctx);
  logoutIndexContract(ctx);
  lockContract(ctx);
  outboxContract(ctx);
  deadLetterContract(ctx);
  replayContract(ctx);
  forgetContract(ctx);
  deliveryLogContract(ctx);
  markContract(ctx);
  sessionContract(ctx);

  test('ping answers', async () => {
    await expect(ctx.stores.authState.ping()).resolves.toBeUndefined();
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

  test('a connections table from before the expiry index gets its column and index; old rows stay, unindexed', async () => {
    const dir = tempDir();
    const old = createSqliteStores({ dataDir: dir, ttlMs: SESSION_TTL_MS });
    old.db.exec(
      'DROP INDEX connections_due; DROP TABLE connections; CREATE TABLE connections (owner TEXT NOT NULL, provider TEXT NOT NULL, data TEXT NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (owner, provider));',
    );
    old.db.prepare('INSERT INTO connections VALUES (?, ?, ?, ?)').run('sub.old', 'xt', 'v-old', Date.now() + 60_000);
    await old.close();
    const upgraded = createSqliteStores({ dataDir: dir, ttlMs: SESSION_TTL_MS });
    try {
      expect(await upgraded.authState.getConnection('sub.old', 'xt')).toBe('v-old');
      expect(await upgraded.authState.dueConnections({ before: Number.MAX_SAFE_INTEGER, limit: 10 })).toEqual([]);
      expect(await upgraded.authState.replaceConnection('sub.old', 'xt', 'v-old', 60_000, 'v-old', undefined, 5)).toBe(
        true,
      );
      expect(await upgraded.authState.dueConnections({ before: 10, limit: 10 })).toEqual([
        { owner: 'sub.old', provider: 'xt', value: 'v-old', due: 5 },
      ]);
      const plan = upgraded.db
        .prepare('EXPLAIN QUERY PLAN SELECT owner FROM connections WHERE due IS NOT NULL AND due < 10 ORDER BY due')
        .all() as { detail: string }[];
      expect(plan.map((r) => r.detail).join(' ')).toContain('connections_due');
    } finally {
      await upgraded.close();
    }
  });

  test('a claim reads the heads through their partial index, never every group', async () => {
    const plan = stores.db
      .prepare('EXPLAIN QUERY PLAN SELECT seq FROM outbox WHERE head = 1 AND due <= 10 ORDER BY due, seq LIMIT 10')
      .all() as { detail: string }[];
    const detail = plan.map((r) => r.detail).join(' ');
    expect(detail).toContain('outbox_heads');
    expect(detail).not.toMatch(/TEMP B-TREE|GROUP BY/); // no sort, no grouping: the first rows of the index
  });

  test('an event written by an older version without its head mark is claimable after the next sweep', async () => {
    await stores.authState.putConnection('o1', 'xt', 'v', 60_000, event('o1', 'legacy'));
    stores.db.prepare('UPDATE outbox SET head = 0').run();
    expect(await stores.outbox.claim(10, 60_000)).toEqual([]);
    sweepExpired(stores.db, Date.now());
    expect(ids(await stores.outbox.claim(10, 60_000))).toEqual(['msg_legacy']);
  });

  test('outbox tables from before replays get their columns; an old dead letter stays dead and replayable', async () => {
    const dir = tempDir();
    const old = createSqliteStores({ dataDir: dir, ttlMs: SESSION_TTL_MS });
    old.db.exec(
      'DROP TABLE outbox; DROP TABLE outbox_dead; CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, grp TEXT NOT NULL, data TEXT NOT NULL, created INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, due INTEGER NOT NULL DEFAULT 0, lease TEXT, lease_until INTEGER NOT NULL DEFAULT 0); CREATE TABLE outbox_dead (id TEXT PRIMARY KEY, grp TEXT NOT NULL, data TEXT NOT NULL, created INTEGER NOT NULL, attempts INTEGER NOT NULL, died INTEGER NOT NULL, expires INTEGER NOT NULL);',
    );
    old.db
      .prepare('INSERT INTO outbox_dead VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run('msg_old', 'g', 'v', 5, 3, 6, Date.now() + 60_000);
    const pending = old.db.prepare('INSERT INTO outbox (id, grp, data, created) VALUES (?, ?, ?, ?)');
    pending.run('msg_p1', 'h', 'v1', 7);
    pending.run('msg_p2', 'h', 'v2', 8);
    await old.close();
    const upgraded = createSqliteStores({ dataDir: dir, ttlMs: SESSION_TTL_MS });
    try {
      // Pending events of the old file: each group's first is its head, claimable in order.
      expect(await drain(upgraded.outbox)).toEqual(['msg_p1', 'msg_p2']);
      expect((await upgraded.outbox.deadLetters(10)).map((d) => d.id)).toEqual(['msg_old']);
      expect(await upgraded.outbox.replay({ since: 0, until: 10, max: 10 })).toEqual(['msg_old']);
      const [e] = await upgraded.outbox.claim(10, 60_000);
      await upgraded.outbox.done(e!.id, e!.lease, Date.now() + 60_000);
      expect(await upgraded.outbox.replay({ since: 5, until: 5, max: 10 })).toEqual(['msg_old']);
    } finally {
      await upgraded.close();
    }
  });
});

describe('redis: the connection page index', () => {
  test('a member whose record expired is removed by the page that meets it; a delete removes its member at once', async () => {
    redis ??= await startRedis();
    const prefix = `pages-${Date.now()}:`;
    const stores = await createRedisStores({
      url: redis.url,
      ttlMs: SESSION_TTL_MS,
      logger: pino({ level: 'silent' }),
      prefix,
    });
    const admin = createClient({ url: redis.url });
    await admin.connect();
    try {
      const index = (owner: string) => `${prefix}conns:{p${partitionOf(owner)}}`;
      await stores.authState.putConnection('sub.short', 'xt', 'v', 100);
      await stores.authState.putConnection('sub.deleted', 'xt', 'v', 60_000);
      expect(await admin.zCard(index('sub.short'))).toBe(1);
      await stores.authState.deleteConnection('sub.deleted', 'xt');
      expect(await admin.zScore(index('sub.deleted'), 'sub.deleted\u0000xt')).toBeNull();
      await sleep(200);
      expect(await stores.authState.pageConnections({ ownerPrefix: 'sub.', limit: 10 })).toEqual([]);
      expect(await admin.zCard(index('sub.short'))).toBe(0);
    } finally {
      await admin.quit();
      await stores.close();
    }
  });
});
