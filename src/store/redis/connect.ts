/**
 * Connecting to Redis with node-redis's own clients: one server (REDIS_URL, `redis://` or
 * `rediss://`), a cluster (REDIS_CLUSTER_NODES: `createCluster`, one client per master, commands
 * routed by key slot) or a master found through Sentinel (REDIS_SENTINELS: `createSentinel`, which
 * follows a failover).
 *
 * Every kind is treated alike: no offline queue (a command fails at once while its node is away,
 * so requests get a 503 instead of hanging), a PING every pingInterval, a socket inactivity timeout,
 * the command deadline (deadline.ts), reconnecting for ever once up but failing fast at start,
 * and a warning at most every 10 s while a node is unreachable. REDIS_CA_FILE's certificates are
 * the only ones trusted for TLS; REDIS_USERNAME and REDIS_PASSWORD authenticate every node.
 */
import type { RedisConfig } from '../../config/redis.js';
import { connectCluster } from './connectCluster.js';
import { connectSentinel } from './connectSentinel.js';
import { connectSingle } from './connectSingle.js';
import { type ConnectOptions, type RedisConnection, commonOf } from './connection.js';

export type { ConnectOptions, KeyClient, RateLimitSend, RedisConnection } from './connection.js';

/** One function for each topology: single server, Cluster, Sentinel. */
export function connectRedis(cfg: RedisConfig, opts: ConnectOptions): Promise<RedisConnection> {
  const common = commonOf(cfg, opts);
  if (cfg.mode === 'single') return connectSingle(cfg, common);
  if (cfg.mode === 'cluster') return connectCluster(cfg, common);
  return connectSentinel(cfg, common);
}
