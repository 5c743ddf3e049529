/**
 * An upgrade to the connections' page index lists every record stored before it: the first start
 * of the stores SCANs the record keys (on a cluster, of every master) into their partitions' indexes
 * and sets a marker, so later starts skip the scan. Pre-index data is made by writing records through
 * the store and then deleting the index sorted sets and the marker.
 */
import { pino } from 'pino';
import { createClient, createCluster } from 'redis';
import { PARTITION_LIST, connectionKeys } from '../../src/store/redis/keys.js';
import { createRedisStores } from '../../src/store/redis/index.js';
import { backfillMarker } from '../../src/store/redis/indexBackfill.js';
import type { Stores } from '../../src/store/types.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { type RedisCluster, startRedisCluster } from '../helpers/redisCluster.js';

const logger = pino({ level: 'silent' });
const OWNERS = Array.from({ length: 20 }, (_, i) => `sub.old-${String(i).padStart(2, '0')}`);

let redis: RedisServer | undefined;
let cluster: RedisCluster | undefined;
afterAll(async () => {
  await redis?.stop();
  await cluster?.stop();
});

/** A raw client's del and exists (one key a call, so a cluster routes each). */
type Raw = { del(key: string): Promise<number>; exists(key: string): Promise<number>; close(): Promise<void> };

const kinds: [string, (prefix: string) => Promise<{ open: () => Promise<Stores>; raw: Raw }>][] = [
  [
    'redis',
    async (prefix) => {
      redis ??= await startRedis();
      const url = redis.url;
      const raw = createClient({ url });
      await raw.connect();
      return { open: () => createRedisStores({ url, ttlMs: 60_000, logger, prefix }), raw };
    },
  ],
  [
    'redis-cluster',
    async (prefix) => {
      cluster ??= await startRedisCluster();
      const nodes = cluster.nodes;
      const raw = createCluster({ rootNodes: nodes.map((n) => ({ socket: { host: n.host, port: n.port } })) });
      await raw.connect();
      const redisConfig = { mode: 'cluster' as const, nodes, tls: false };
      return { open: () => createRedisStores({ redis: redisConfig, ttlMs: 60_000, logger, prefix }), raw };
    },
  ],
];

describe.each(kinds)('%s: the page index backfill', (_name, setup) => {
  test('records stored before the index are listed after the next start; the marker makes a later start skip the scan', async () => {
    const prefix = `backfill-${Date.now()}-${Math.random()}:`;
    const { open: openStores, raw } = await setup(prefix);
    const opened: Stores[] = [];
    const open = async () => {
      const stores = await openStores();
      opened.push(stores);
      return stores;
    };
    try {
      const first = await open();
      expect(await raw.exists(backfillMarker(prefix))).toBe(1);
      for (const owner of OWNERS) await first.authState.putConnection(owner, 'xt', `v-${owner}`, 60_000);
      await opened.shift()?.close();
      // The data as it was before the index: records only.
      for (const p of PARTITION_LIST) await raw.del(connectionKeys(prefix, p).index);
      await raw.del(backfillMarker(prefix));

      const second = await open();
      const listed = await second.authState.pageConnections({ ownerPrefix: 'sub.', limit: 100 });
      expect(listed.map((c) => c.owner)).toEqual(OWNERS);
      expect(listed.map((c) => c.value)).toEqual(OWNERS.map((o) => `v-${o}`));
      await opened.shift()?.close();

      // Marked done: a third start does not scan (an index removed again stays empty).
      for (const p of PARTITION_LIST) await raw.del(connectionKeys(prefix, p).index);
      const third = await open();
      expect(await third.authState.pageConnections({ ownerPrefix: 'sub.', limit: 100 })).toEqual([]);
    } finally {
      await Promise.all(opened.map((s) => s.close()));
      await raw.close();
    }
  });
});
