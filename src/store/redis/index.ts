/**
 * Redis, for several replicas: sessions through connect-redis (the maintained express-session
 * store for node-redis), token sets, login transactions and refresh locks in our own keys. One
 * server, a cluster or Sentinel (connect.ts): every script keeps to one hash slot (the key
 * layout below), so each works on a cluster.
 *
 * When Redis goes away, commands fail at once (no offline queue) so requests get a 503 instead
 * of hanging; the client keeps reconnecting in the background and the data is there when it returns.
 * A Redis that stops answering is a 503 after REDIS_COMMAND_TIMEOUT (see deadline.ts).
 */
import { RedisStore } from 'connect-redis';
import { RedisStore as RateLimitRedisStore } from 'rate-limit-redis';
import type { Logger } from 'pino';
import type { RedisConfig } from '../../config/redis.js';
import { RedisAuthStore } from './authStore.js';
import { connectRedis } from './connect.js';
import { backfillConnectionIndex } from './indexBackfill.js';
import { RedisOutbox } from './outbox.js';
import { RedisSlidingLog } from './slidingLog.js';
import type { Stores } from '../types.js';

export { PARTITIONS, partitionOf } from './keys.js';
export { RedisAuthStore } from './authStore.js';
export { RedisOutbox } from './outbox.js';

export async function createRedisStores(opts: {
  /** Where Redis is (REDIS_URL, a cluster or Sentinel); or just `url`, for one server. */
  redis?: RedisConfig;
  url?: string;
  ttlMs: number;
  logger: Logger;
  prefix?: string;
  now?: () => number;
  commandTimeoutMs?: number;
}): Promise<Stores> {
  const cfg: RedisConfig | undefined =
    opts.redis ?? (opts.url ? { mode: 'single', url: opts.url, tls: opts.url.startsWith('rediss:') } : undefined);
  if (!cfg) throw new Error('createRedisStores: no Redis given');
  const conn = await connectRedis(cfg, { logger: opts.logger, commandTimeoutMs: opts.commandTimeoutMs ?? 1000 });
  const prefix = opts.prefix ?? 'xtc:';
  await backfillConnectionIndex(conn.client, conn, prefix, opts.logger);
  return {
    kind: 'redis',
    sessions: new RedisStore({
      client: conn.sessionsClient,
      prefix: `${prefix}sess:`,
      ttl: Math.ceil(opts.ttlMs / 1000),
    }),
    authState: new RedisAuthStore(conn.client, conn, prefix, opts.now),
    outbox: new RedisOutbox(conn.client, prefix, opts.now),
    slidingLog: new RedisSlidingLog(conn.client, prefix),
    rateLimitStore: (name) => new RateLimitRedisStore({ prefix: `${prefix}rl:${name}:`, ...conn.rateLimitSend }),
    close: () => conn.close(),
  };
}
