/**
 * An upgrade to the partitioned Redis layout loses nobody's connection: a record under the old
 * key (`conn:<owner>:<provider>`) is moved to its new key, with its TTL, the first time it is read.
 */
import { pino } from 'pino';
import { createClient } from 'redis';
import { createRedisStores } from '../../src/store/redis/index.js';
import type { Stores } from '../../src/store/types.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

let redis: RedisServer;
let stores: Stores;
let raw: ReturnType<typeof createClient>;
beforeAll(async () => {
  redis = await startRedis();
  stores = await createRedisStores({ url: redis.url, ttlMs: 60_000, logger: pino({ level: 'silent' }) });
  raw = createClient({ url: redis.url });
  await raw.connect();
});
afterAll(async () => {
  await raw.close();
  await stores.close();
  await redis.stop();
});

test('a connection under the old key is read, moved to the new key with its TTL, and the old key removed', async () => {
  await raw.set('xtc:conn:owner-1:xt', 'sealed-record', { expiration: { type: 'PX', value: 3_600_000 } });
  expect(await stores.authState.getConnection('owner-1', 'xt')).toBe('sealed-record');
  expect(await raw.exists('xtc:conn:owner-1:xt')).toBe(0);
  const moved = (await raw.keys('xtc:conn:*owner-1:xt')).filter((k) => k.includes('{p'));
  expect(moved).toHaveLength(1);
  const ttl = await raw.pTTL(moved[0]!);
  expect(ttl).toBeGreaterThan(3_500_000);
  // Later writes and reads use the new key only.
  expect(await stores.authState.replaceConnection('owner-1', 'xt', 'next', 60_000, 'sealed-record')).toBe(true);
  expect(await stores.authState.getConnection('owner-1', 'xt')).toBe('next');
});

test('a record already under the new key wins over an old one', async () => {
  await stores.authState.putConnection('owner-2', 'xt', 'new-layout', 60_000);
  await raw.set('xtc:conn:owner-2:xt', 'stale', { expiration: { type: 'PX', value: 60_000 } });
  expect(await stores.authState.getConnection('owner-2', 'xt')).toBe('new-layout');
  expect(await stores.authState.getConnection('owner-3', 'xt')).toBeNull();
});
